import type { Args } from '../args.js';
import type { HarnessNode, InteractionEnv } from '../env.js';

/** `tick [ids...] [n=1]`: advances the logical clock of each listed node (default: all). */
export function tick(env: InteractionEnv, args: Args): void {
  const n = args.int('n', 1);
  args.finish();
  for (const id of env.idsOrAll(args.ids())) {
    const h = env.node(id);
    if (h.down) continue;
    for (let k = 0; k < n; k++) h.node.tick();
  }
}

/** `tick-heartbeat <ids...>`: ticks each node `heartbeatTick` times (a leader then sends heartbeats). */
export function tickHeartbeat(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of env.idsOrAll(args.ids())) {
    const h = env.node(id);
    if (h.down) continue;
    for (let k = 0; k < h.config.heartbeatTick; k++) h.node.tick();
  }
}

/**
 * `tick-election [ids...]`: lets an election timeout pass. The listed nodes (default: all running
 * ones) tick in lockstep, one tick each per round. If they are all leaders, that lasts
 * `electionTick` rounds (the CheckQuorum and transfer-abort period). Otherwise it lasts until
 * the randomized timeout of some non-leader, drawn from [electionTick, 2·electionTick), fires —
 * its role or term changes, or it suddenly has work (a pre-candidate asking again) — or
 * 2·electionTick rounds passed (learners and members that cannot campaign never fire). Prints who fired and after how many ticks, since the randomized timeout
 * is what such a scenario shows.
 */
export function tickElection(env: InteractionEnv, args: Args): void {
  args.finish();
  const nodes = env
    .idsOrAll(args.ids())
    .map((id) => env.node(id))
    .filter((h) => !h.down);
  const e = Math.max(...nodes.map((h) => h.config.electionTick));
  const watched = nodes.filter((h) => h.node.status().raftState !== 'leader');
  if (watched.length === 0) {
    for (let k = 0; k < e; k++) for (const h of nodes) h.node.tick();
    return;
  }
  const before = new Map(watched.map((h) => [h.id, { ...h.node.status(), busy: h.node.hasReady() }]));
  for (let k = 1; k <= 2 * e; k++) {
    for (const h of nodes) h.node.tick();
    const fired = watched.filter((h) => fires(before.get(h.id), h));
    if (fired.length > 0) {
      env.out.write(`election timeout of ${fired.map((h) => h.id).join(', ')} after ${k} ticks`);
      return;
    }
  }
  env.out.write(`no election timeout after ${2 * e} ticks`);
}

/** Whether `h` started a (pre-)campaign since `before`. */
function fires(
  before: { raftState: string; term: number; busy: boolean } | undefined,
  h: HarnessNode,
): boolean {
  if (before === undefined) return false;
  const s = h.node.status();
  return s.raftState !== before.raftState || s.term !== before.term || (!before.busy && h.node.hasReady());
}
