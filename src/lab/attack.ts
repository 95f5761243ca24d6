// An attack is given only the capabilities it declares, and returns loot (what it obtained), never a verdict: the
// judge counts canaries in the loot, and verdict.ts turns findings into cells.
import type { Capability, Column } from './capability.js';
import type { Loot } from './loot.js';
import type { Target } from './target.js';

export interface Attack {
  id: Column;
  requires: Capability[];
  run(target: Target, signal: AbortSignal): Promise<Loot>;
}
