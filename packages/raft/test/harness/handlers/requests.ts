import { type Args, parseId } from '../args.js';
import type { InteractionEnv } from '../env.js';

/** `campaign <id>`: the node starts an election now (a PreVote round first when enabled). */
export function campaign(env: InteractionEnv, args: Args): void {
  args.finish();
  const [id] = args.idsExactly(1);
  const h = env.node(id as number);
  env.attempt(() => h.node.campaign());
}

/** `transfer-leader <id> <to>`: asks node `id` (the leader, or a follower that forwards it) to hand leadership to `to`. */
export function transferLeader(env: InteractionEnv, args: Args): void {
  args.finish();
  const [id, to] = args.idsExactly(2);
  const h = env.node(id as number);
  env.attempt(() => h.node.transferLeader(to as number));
}

/** `forget-leader <id>`: a follower forgets its leader (so a PreVote round can succeed at once). */
export function forgetLeader(env: InteractionEnv, args: Args): void {
  args.finish();
  const [id] = args.idsExactly(1);
  const h = env.node(id as number);
  env.attempt(() => h.node.forgetLeader());
}

/** `read-index <id> <ctx>`: requests a linearizable read point; the ReadState appears in a later Ready. */
export function readIndex(env: InteractionEnv, args: Args): void {
  args.finish();
  const [idArg, ctx] = args.positional;
  if (idArg === undefined || ctx === undefined) throw new Error('read-index: usage: read-index <id> <ctx>');
  const h = env.node(parseId(idArg, 'read-index'));
  env.attempt(() => h.node.readIndex(new TextEncoder().encode(ctx)));
}

/** `report-unreachable <id> <peer>`: node `id`'s transport could not reach `peer`. */
export function reportUnreachable(env: InteractionEnv, args: Args): void {
  args.finish();
  const [id, peer] = args.idsExactly(2);
  const h = env.node(id as number);
  env.attempt(() => h.node.reportUnreachable(peer as number));
}

/** `report-snapshot <id> <peer> finish|failure`: the outcome of sending a snapshot to `peer`. */
export function reportSnapshot(env: InteractionEnv, args: Args): void {
  args.finish();
  const [idArg, peerArg, status] = args.positional;
  if (idArg === undefined || peerArg === undefined || (status !== 'finish' && status !== 'failure')) {
    throw new Error('report-snapshot: usage: report-snapshot <id> <peer> finish|failure');
  }
  const h = env.node(parseId(idArg, 'report-snapshot'));
  env.attempt(() => h.node.reportSnapshot(parseId(peerArg, 'report-snapshot'), status));
}
