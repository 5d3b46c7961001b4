/**
 * Causality between events: a deterministic linear order and an ancestry oracle, exactly as
 * sync-core/src/workorder/causal.rs computes them (Kahn's algorithm, ties broken by device
 * time, then event id, then first position in the list).
 */
import type { WorkOrderEvent } from "./model.js";

/** Compares two ASCII-safe ids the way Rust compares `&str` (bytewise). */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Key = [number, string, number];

function keyLess(a: Key, b: Key): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  const c = cmpStr(a[1], b[1]);
  if (c !== 0) return c < 0;
  return a[2] < b[2];
}

/** A small binary min-heap of tie-break keys. */
class MinHeap {
  private items: Key[] = [];
  get size(): number {
    return this.items.length;
  }
  push(k: Key): void {
    const a = this.items;
    a.push(k);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!keyLess(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Key | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && keyLess(a[l]!, a[m]!)) m = l;
        if (r < a.length && keyLess(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Events in fold order, with their ancestry. */
export class Causal {
  /** Events in linear (fold) order. */
  readonly events: WorkOrderEvent[];
  private readonly ancestors: Set<number>[];

  constructor(all: readonly WorkOrderEvent[]) {
    const byId = new Map<string, number>();
    const kept: WorkOrderEvent[] = [];
    for (const e of all) {
      if (!byId.has(e.id)) {
        byId.set(e.id, kept.length);
        kept.push(e);
      }
    }
    const n = kept.length;
    const children: number[][] = Array.from({ length: n }, () => []);
    const waiting: number[] = new Array<number>(n).fill(0);
    kept.forEach((e, i) => {
      const parents = [
        ...new Set(
          e.parents
            .map((p) => byId.get(p))
            .filter((p): p is number => p !== undefined && p !== i),
        ),
      ].sort((x, y) => x - y);
      waiting[i] = parents.length;
      for (const p of parents) children[p]!.push(i);
    });
    const key = (i: number): Key => [kept[i]!.at, kept[i]!.id, i];
    const ready = new MinHeap();
    for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(key(i));
    const order: number[] = [];
    const placed: boolean[] = new Array<boolean>(n).fill(false);
    for (;;) {
      for (let k = ready.pop(); k !== undefined; k = ready.pop()) {
        const i = k[2];
        order.push(i);
        placed[i] = true;
        for (const c of children[i]!) {
          waiting[c]! -= 1;
          if (waiting[c] === 0) ready.push(key(c));
        }
      }
      if (order.length === n) break;
      // A cycle (only a forged document holds one): release the smallest remaining event.
      let best: number | undefined;
      for (let i = 0; i < n; i++) {
        if (placed[i] || waiting[i]! <= 0) continue;
        if (
          best === undefined ||
          kept[i]!.at < kept[best]!.at ||
          (kept[i]!.at === kept[best]!.at && cmpStr(kept[i]!.id, kept[best]!.id) < 0)
        ) {
          best = i;
        }
      }
      if (best === undefined) break;
      waiting[best] = 0;
      ready.push(key(best));
    }
    const position: number[] = new Array<number>(n).fill(0);
    order.forEach((i, pos) => {
      position[i] = pos;
    });
    this.events = order.map((i) => kept[i]!);
    this.ancestors = [];
    this.events.forEach((e, pos) => {
      const set = new Set<number>();
      for (const p of e.parents) {
        const pi = byId.get(p);
        if (pi === undefined) continue;
        const pp = position[pi]!;
        // In a broken cycle a parent may come later; it is then not an ancestor.
        if (pp < pos) {
          for (const a of this.ancestors[pp]!) set.add(a);
          set.add(pp);
        }
      }
      this.ancestors.push(set);
    });
  }

  /** Whether the event at `a` was seen by the author of the event at `b`. */
  isAncestor(a: number, b: number): boolean {
    return this.ancestors[b]?.has(a) ?? false;
  }

  /** Neither event had seen the other. */
  concurrent(a: number, b: number): boolean {
    return a !== b && !this.isAncestor(a, b) && !this.isAncestor(b, a);
  }

  /** Ids of the events nothing else follows: the parents of the next event recorded. */
  static frontier(all: readonly WorkOrderEvent[]): string[] {
    const referenced = new Set<string>();
    for (const e of all) for (const p of e.parents) referenced.add(p);
    const out = [...new Set(all.map((e) => e.id).filter((id) => !referenced.has(id)))];
    return out.sort(cmpStr);
  }
}
