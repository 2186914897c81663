import { describeSnapshot } from '@flotilla/raft';
import { type Args, parseId } from '../args.js';
import { decodeStateMachine, encodeStateMachine, type InteractionEnv } from '../env.js';

/**
 * `snapshot <id>`: the host of node `id` snapshots its state machine at its applied index,
 * recording the configuration as of that index (what `applyConfChange` last returned).
 */
export function snapshot(env: InteractionEnv, args: Args): void {
  args.finish();
  const [id] = args.idsExactly(1);
  const h = env.node(id as number);
  env.attempt(() => {
    const s = h.storage.createSnapshot(h.appliedIndex, h.confState, encodeStateMachine(h.applied));
    env.out.write(`snapshot: ${describeSnapshot(s)}`);
  });
}

/**
 * `compact <id> <index>`: discards node `id`'s persisted entries up to `index`, which must be
 * applied already (a host may only compact what its state machine, or a snapshot, covers).
 */
export function compact(env: InteractionEnv, args: Args): void {
  args.finish();
  const [idArg, indexArg] = args.positional;
  if (idArg === undefined || indexArg === undefined) throw new Error('compact: usage: compact <id> <index>');
  const h = env.node(parseId(idArg, 'compact'));
  const index = Number(indexArg);
  if (index > h.appliedIndex)
    throw new Error(`compact: index ${index} is not applied yet (applied ${h.appliedIndex})`);
  if (env.attempt(() => h.storage.compact(index)))
    env.out.write(`compacted to ${index}: first index ${h.storage.firstIndex()}`);
}

/** `snapshot-unavailable <id> true|false`: makes node `id`'s storage refuse `snapshot()` for now. */
export function snapshotUnavailable(env: InteractionEnv, args: Args): void {
  args.finish();
  const [idArg, flag] = args.positional;
  if (idArg === undefined || (flag !== 'true' && flag !== 'false')) {
    throw new Error('snapshot-unavailable: usage: snapshot-unavailable <id> true|false');
  }
  env.node(parseId(idArg, 'snapshot-unavailable')).storage.snapshotUnavailable = flag === 'true';
}

/** `crash <id>`: the node stops; everything not persisted (its RawNode's memory, its state machine) is lost. */
export function crash(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of args.ids()) {
    env.node(id).down = true;
    env.out.write(`${id} crashed`);
  }
}

/**
 * `restart <id>`: the node (crashed or running: it crashes first) starts again from its storage.
 * Its state machine is restored from the storage's latest snapshot, whose index is passed as
 * `applied` (a snapshot may have been taken without compacting the log, so the log can start
 * before it); Raft then hands out the committed entries after it again.
 */
export function restart(env: InteractionEnv, args: Args): void {
  args.finish();
  for (const id of args.ids()) {
    const h = env.node(id);
    const snap = h.storage.snapshot();
    h.down = false;
    h.applied = decodeStateMachine(snap.data);
    h.appliedIndex = snap.metadata.index;
    h.confState = snap.metadata.confState;
    env.out.write(`${id} restarting from storage`);
    env.out.nested(() => {
      h.node = env.startNode(id, h.storage, h.config, h.appliedIndex);
    });
  }
}
