//! Replays the kept crashers (`tests/fuzz-crashers/scenario_toml/`) and committed seeds
//! (`fuzz/seeds/scenario_toml/`: the scenario files of tests/scenarios) of the `scenario_toml`
//! fuzz target through `Scenario::from_toml_str`, the function that target calls, so a
//! regression fails `cargo test` where no fuzzer is installed (docs/FUZZING.md). A crasher `X`
//! may have a sibling `X.expect` holding text that the `Debug` form of its result must contain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use field_cli::scenario::Scenario;

fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in [
        repo.join("tests/fuzz-crashers/scenario_toml"),
        repo.join("fuzz/seeds/scenario_toml"),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".expect") || name.ends_with(".md") || name.starts_with('.') {
                continue;
            }
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn scenario_toml_crashers_and_seeds_replay() {
    let inputs = inputs();
    assert!(inputs.len() >= 10, "the seeds are missing");
    let mut loaded = 0;
    for (path, bytes) in inputs {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let result = Scenario::from_toml_str(text);
        match &result {
            Ok(_) => loaded += 1,
            Err(e) => {
                let message = e.to_string();
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "{message:?}"
                );
            }
        }
        let mut expect = path.as_os_str().to_owned();
        expect.push(".expect");
        if let Ok(text) = fs::read_to_string(&expect) {
            let shown = format!("{result:?}");
            assert!(shown.contains(text.trim()), "{}: {shown}", path.display());
        }
    }
    // The scenario files of tests/scenarios all load.
    assert!(loaded >= 10, "only {loaded} scenarios loaded");
}

#[test]
fn a_broken_scenario_is_refused_in_one_line() {
    let e = Scenario::from_toml_str("name = \"x\"\n[[step]]\nop = 3\n").unwrap_err();
    let message = e.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("op"), "{message}");
}
