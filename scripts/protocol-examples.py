#!/usr/bin/env python3
"""Writes the examples section of docs/PROTOCOL.md from the golden vectors.

Usage: scripts/protocol-examples.py [--check]
With --check, exits non-zero when docs/PROTOCOL.md is not up to date (CI runs this).
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PROTOCOL.md"
MARK = "<!-- vectors: generated from vectors/protocol by scripts/protocol-examples.py; do not edit by hand -->"
END = "## Changes from version 1"


def wrap(text, width=96):
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def section():
    out = [MARK, ""]
    for path in sorted((ROOT / "vectors" / "protocol").glob("*.json")):
        case = json.loads(path.read_text())
        out.append(f"### `{case['name']}` ({case['kind']}, {len(case['hex']) // 2} bytes)")
        out.append("")
        out.append(case["description"])
        out.append("")
        out.append("```json")
        out.append(json.dumps(case["value"], indent=2))
        out.append("```")
        out.append("")
        out.append("```hex")
        out.append(wrap(case["hex"]))
        out.append("```")
        out.append("")
    return "\n".join(out)


def main():
    text = DOC.read_text()
    start = text.index(MARK)
    end = text.index(END)
    new = text[:start] + section() + "\n" + text[end:]
    if "--check" in sys.argv:
        if new != text:
            print("docs/PROTOCOL.md examples are stale: run scripts/protocol-examples.py", file=sys.stderr)
            sys.exit(1)
        return
    DOC.write_text(new)


if __name__ == "__main__":
    main()
