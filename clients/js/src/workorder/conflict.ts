/** Conflicts, named as sync-core names them (sync-core/src/workorder/conflict.rs). */
import { cmpStr } from "./causal.js";
import type { Conflict, ConflictKind } from "./view.js";

export function newConflict(kind: ConflictKind, events: string[], outcome: string): Conflict {
  const sorted = [...new Set(events)].sort(cmpStr);
  return { id: `${kind}:${sorted.join(",")}`, kind, events: sorted, outcome, resolved: false };
}

export function acceptWins(tech: string): string {
  return `${tech} accepted on one device while the job was given back on another; the acceptance stands, confirm with ${tech}`;
}
