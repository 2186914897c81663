import { type ConfState, type Entry, emptyConfState, NONE } from '@flotilla/raft';
import type { Args } from '../args.js';
import { encodeStateMachine, type InteractionEnv, type NodeConfig } from '../env.js';
import { HarnessStorage } from '../storage.js';

/**
 * `add-nodes <n> [voters=(1,2,3)] [learners=(4)] [index=1] [terms=(1,2,2)] [term=N] [commit=N]
 * [bootstrap=true] [election=10] [heartbeat=1] [preVote=true] [checkQuorum=true]
 * [readOnly=safe|leaseBased] [maxSizePerMsg=N] [maxInflight=N] [maxInflightBytes=N]
 * [maxUncommitted=N] [maxCommittedSizePerReady=N] [disableProposalForwarding=true]
 * [stepDownOnRemoval=false] [seed=N]`
 *
 * Adds `n` nodes with the next free ids. With `voters`, each node's storage starts from a
 * snapshot at `index` (term 1) carrying that configuration, as etcd's interaction tests do; with
 * `terms` it also holds one empty entry per listed term after the snapshot (to set up diverging
 * logs). With `terms`, `term` or `commit` the hard state is set too: the term is `term` or the
 * highest listed term, the commit index `commit` (default: the snapshot index).
 * With `bootstrap=true` the nodes call `bootstrap(voters)` instead. Without `voters` a node starts
 * on empty storage: a member that will be added later and learns everything from the leader.
 */
export function addNodes(env: InteractionEnv, args: Args): void {
  const [count] = args.positional;
  const n = Number(count);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error('add-nodes: expected a positive count');
  const voters = args.ints('voters');
  const learners = args.ints('learners') ?? [];
  const index = args.int('index', 1);
  const terms = args.ints('terms');
  const commit = args.int('commit');
  const term = args.int('term');
  const boot = args.bool('bootstrap', false);
  const config = nodeConfig(args);
  args.finish();
  if (boot && voters === undefined) throw new Error('add-nodes: bootstrap needs voters');

  const first = env.ids().reduce((a, b) => Math.max(a, b), 0) + 1;
  for (let id = first; id < first + n; id++) {
    const storage = new HarnessStorage();
    if (voters !== undefined && !boot) {
      const confState: ConfState = { ...emptyConfState(), voters, learners };
      storage.applySnapshot({ metadata: { index, term: 1, confState }, data: encodeStateMachine([]) });
      if (terms !== undefined) {
        const ents: Entry[] = terms.map((term, k) => ({
          term,
          index: index + 1 + k,
          type: 'normal',
          data: new Uint8Array(0),
        }));
        storage.append(ents);
      }
      if (terms !== undefined || commit !== undefined || term !== undefined) {
        const top = (terms ?? []).reduce((a, b) => Math.max(a, b), 1);
        storage.setHardState({ term: Math.max(term ?? 0, top), vote: NONE, commit: commit ?? index });
      }
    }
    env.addNode(id, storage, { ...config, id });
    if (boot && voters !== undefined) {
      const h = env.node(id);
      env.attempt(() => h.node.bootstrap(voters));
    }
  }
}

/** The RaftConfig options a scenario may set (defaults: electionTick 10, heartbeatTick 1). */
function nodeConfig(args: Args): Omit<NodeConfig, 'id'> {
  const readOnly = args.str('readOnly');
  if (readOnly !== undefined && readOnly !== 'safe' && readOnly !== 'leaseBased') {
    throw new Error(`add-nodes: readOnly must be safe or leaseBased, got ${readOnly}`);
  }
  const c: { -readonly [K in keyof Omit<NodeConfig, 'id'>]: Omit<NodeConfig, 'id'>[K] } = {
    electionTick: args.int('election', 10),
    heartbeatTick: args.int('heartbeat', 1),
    preVote: args.bool('preVote', false),
    checkQuorum: args.bool('checkQuorum', false),
    disableProposalForwarding: args.bool('disableProposalForwarding', false),
    stepDownOnRemoval: args.bool('stepDownOnRemoval', true),
  };
  if (readOnly !== undefined) c.readOnlyOption = readOnly;
  const opt = (key: string): number | undefined => args.int(key);
  const maxSizePerMsg = opt('maxSizePerMsg');
  if (maxSizePerMsg !== undefined) c.maxSizePerMsg = maxSizePerMsg;
  const maxInflight = opt('maxInflight');
  if (maxInflight !== undefined) c.maxInflightMsgs = maxInflight;
  const maxInflightBytes = opt('maxInflightBytes');
  if (maxInflightBytes !== undefined) c.maxInflightBytes = maxInflightBytes;
  const maxUncommitted = opt('maxUncommitted');
  if (maxUncommitted !== undefined) c.maxUncommittedEntriesSize = maxUncommitted;
  const maxCommitted = opt('maxCommittedSizePerReady');
  if (maxCommitted !== undefined) c.maxCommittedSizePerReady = maxCommitted;
  const seed = opt('seed');
  if (seed !== undefined) c.seed = seed;
  return c;
}
