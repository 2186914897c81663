import type { ConfChange, ConfChangeSingle } from '@flotilla/raft';
import { type Args, parseId } from '../args.js';
import type { InteractionEnv } from '../env.js';

/**
 * `propose <id> <data> [count=N] [size=N]`: node `id` proposes `data` (a follower forwards it
 * to its leader). With `count` it proposes `data1`..`dataN`; with `size` each payload is padded
 * with `.` to that many bytes. Stops at the first refusal, printing the error.
 */
export function propose(env: InteractionEnv, args: Args): void {
  const [idArg, data] = args.positional;
  if (idArg === undefined || data === undefined) throw new Error('propose: usage: propose <id> <data>');
  const id = parseId(idArg, 'propose');
  const count = args.int('count');
  const size = args.int('size');
  args.finish();
  const h = env.node(id);
  const payloads = count === undefined ? [data] : Array.from({ length: count }, (_, k) => `${data}${k + 1}`);
  for (const p of payloads) {
    const padded = size === undefined ? p : p.padEnd(size, '.');
    if (!env.attempt(() => h.node.propose(new TextEncoder().encode(padded)))) return;
  }
}

/**
 * `propose-conf-change <id> [transition=auto|implicit|explicit]` followed by an input line of
 * changes in etcd's notation: `v3` add voter 3, `l4` add learner 4 (or demote voter 4), `r2`
 * remove 2. No input line proposes the empty change that leaves a joint configuration.
 */
export function proposeConfChange(env: InteractionEnv, args: Args): void {
  const [id] = args.idsExactly(1);
  const transition = args.str('transition');
  args.finish();
  if (
    transition !== undefined &&
    transition !== 'auto' &&
    transition !== 'implicit' &&
    transition !== 'explicit'
  ) {
    throw new Error(`propose-conf-change: bad transition ${transition}`);
  }
  const changes = parseChanges(args.input.join(' '));
  const cc: ConfChange = transition === undefined ? { changes } : { transition, changes };
  const h = env.node(id as number);
  env.attempt(() => h.node.proposeConfChange(cc));
}

/** Parses `v1 l2 r3` into conf change steps. */
export function parseChanges(text: string): ConfChangeSingle[] {
  const out: ConfChangeSingle[] = [];
  for (const tok of text.split(/\s+/).filter((t) => t.length > 0)) {
    const kind = tok[0];
    const nodeId = parseId(tok.slice(1), `conf change ${tok}`);
    if (kind === 'v') out.push({ type: 'addNode', nodeId });
    else if (kind === 'l') out.push({ type: 'addLearner', nodeId });
    else if (kind === 'r') out.push({ type: 'removeNode', nodeId });
    else throw new Error(`conf change: unknown step ${tok} (use v<id>, l<id> or r<id>)`);
  }
  return out;
}
