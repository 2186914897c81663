import { describeNode } from '@flotilla/raft';
import type { Args } from '../args.js';
import { describeStatus, describeStorage } from '../describe.js';
import type { InteractionEnv } from '../env.js';
import { isLogLevel } from '../output.js';

/** `status [ids...]`: each node's public `status()`: role, term, commit, config, and on a leader its progress. */
export function status(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of env.idsOrAll(args.ids())) {
    const h = env.node(id);
    env.out.write(h.down ? `${id} down` : describeStatus(h.node.status()));
  }
}

/** `describe <id>`: the core's internal view (`describeNode`): log positions and, on a leader, inflight windows. */
export function describe(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of env.idsOrAll(args.ids())) env.out.write(describeNode(env.node(id).node));
}

/** `raft-log <id>`: what node `id` has persisted: snapshot, entries, hard state. */
export function raftLog(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of env.idsOrAll(args.ids())) {
    if (args.positional.length !== 1) env.out.write(`${id}:`);
    env.out.write(describeStorage(env.node(id).storage));
  }
}

/** `raft-state`: one line per node: role, term, leader, and whether it votes. */
export function raftState(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of env.ids()) {
    const h = env.node(id);
    if (h.down) {
      env.out.write(`${id}: down`);
      continue;
    }
    const s = h.node.status();
    const voter = s.config.voters.includes(id) || s.config.votersOutgoing.includes(id);
    const role = voter ? 'voter' : s.config.learners.includes(id) ? 'learner' : 'not a member';
    env.out.write(`${id}: ${s.raftState} (${role}) term=${s.term} lead=${s.lead} commit=${s.commit}`);
  }
}

/** `applied [ids...]`: each node's state machine: applied index and the payloads applied. */
export function applied(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of env.idsOrAll(args.ids())) {
    const h = env.node(id);
    env.out.write(`${id}: applied=${h.appliedIndex} [${h.applied.join(' ')}]`);
  }
}

/** `log-level debug|info|warn|error|none`: which of the core's log lines are printed. */
export function logLevel(env: InteractionEnv, args: Args): void {
  args.finish();
  const [level] = args.positional;
  if (level === undefined || !isLogLevel(level)) throw new Error(`log-level: bad level ${String(level)}`);
  env.out.level = level;
}
