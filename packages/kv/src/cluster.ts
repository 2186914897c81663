/**
 * Cluster administration on a node: status, the member list, membership changes (through the
 * replica's conf changes, carrying the new member's peer address), publishing this member's
 * attributes, and the health check the HTTP layer serves at `/health`.
 */
import { createRequire } from 'node:module';
import type { ReplicaStatus } from '@flotilla/replica';
import type { Member, MemberListResponse, RequestOptions, StatusResponse } from './api.js';
import type { KvCommand } from './commands.js';
import type { NodeContext } from './context.js';
import { invalid, KvError } from './errors.js';
import { memberList, newMemberId, sameAttributes } from './members.js';
import { bag, checkId, checkRequestOptions } from './requests.js';
import { toKvError } from './results.js';
import type { MemberAttributes } from './snapshot.js';

/** The package version reported by `status()`. */
export const KV_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string })
  .version;

/**
 * etcd refuses new requests when the applied index lags the commit index by more than this
 * (`maxGapBetweenApplyAndCommitIndex`); the health check uses the same bound.
 */
export const MAX_APPLY_LAG = 5000;

/** etcd promotes a learner only once its match index reaches 90% of the leader's. */
const LEARNER_READY_FRACTION = 0.9;

/** The answer to `KvNode.health()` (what `/health` serves). */
export interface KvHealth {
  /** True when a leader is known, the member is up and its apply keeps up with commit. */
  readonly healthy: boolean;
  /** Why not, as a stable code (`STOPPED`, `UNAVAILABLE`, `NO_LEADER`, `APPLY_LAGGING`, `READ_FAILED`). */
  readonly reason?: string;
  /** The known leader, 0 when none. */
  readonly leader: number;
  readonly appliedIndex: number;
  readonly commitIndex: number;
}

function revision(ctx: NodeContext): number {
  return ctx.stateMachine.store.revision;
}

function list(ctx: NodeContext, st: ReplicaStatus = ctx.replica.status()): Member[] {
  return memberList(st.members, st.addresses, ctx.stateMachine.memberAttributes());
}

/** etcd `Status` of this member (local: no round trip). */
export function status(ctx: NodeContext, options?: RequestOptions): StatusResponse {
  checkRequestOptions(bag(options, 'status options'));
  const st = ctx.replica.status();
  ctx.sawTerm(st.term);
  const store = ctx.stateMachine.store;
  const failure = ctx.failure();
  const errors = [
    ...(ctx.stopped() ? ['STOPPED: the member is stopped'] : []),
    ...(failure === undefined ? [] : [`UNAVAILABLE: ${failure.message}`]),
    ...(st.leader === undefined ? ['NO_LEADER: no leader is known'] : []),
  ];
  return {
    header: ctx.header(store.revision),
    version: KV_VERSION,
    leader: st.leader ?? 0,
    raftIndex: st.commit,
    raftTerm: st.term,
    raftAppliedIndex: st.applied,
    isLearner: st.members.learners.includes(ctx.id),
    keys: store.range('\0', '\0', { countOnly: true }).count,
    compactRevision: store.compactRevision,
    errors,
  };
}

/** etcd `MemberList`, linearizable (ReadIndex first). */
export async function members(ctx: NodeContext, options?: RequestOptions): Promise<MemberListResponse> {
  await ctx.readBarrier(checkRequestOptions(bag(options, 'members options')));
  return { members: list(ctx), header: ctx.header(revision(ctx)) };
}

/** Runs a membership change with the proposer's outcome rules. */
async function change<T>(
  ctx: NodeContext,
  req: RequestOptions,
  run: (opts: RequestOptions) => Promise<T>,
): Promise<T> {
  try {
    return await ctx.proposer.run(
      (timeoutMs) => run({ timeoutMs, ...(req.signal ? { signal: req.signal } : {}) }),
      req.timeoutMs ?? ctx.options.requestTimeoutMs,
      req.signal,
    );
  } catch (err) {
    throw toKvError(err);
  }
}

/**
 * etcd `MemberAdd`: a voter (or a learner) at `peerUrl`, with `options.id` or a derived id.
 * Start the new member with `join: true` and that id.
 */
export async function addMember(
  ctx: NodeContext,
  peerUrl: string,
  options?: { readonly isLearner?: boolean; readonly id?: number } & RequestOptions,
): Promise<MemberListResponse & { readonly member: Member }> {
  if (typeof peerUrl !== 'string' || peerUrl === '') throw invalid('peerUrl must be a non-empty string');
  const o = bag(options, 'addMember options');
  if (o.isLearner !== undefined && typeof o.isLearner !== 'boolean')
    throw invalid('isLearner must be a boolean');
  const wanted = o.id === undefined ? undefined : checkId(o.id, 'member id');
  const req = checkRequestOptions(o);
  ctx.checkOpen();
  const current = list(ctx);
  const ids = new Set(current.map((m) => m.id));
  if (wanted !== undefined && ids.has(wanted)) {
    throw new KvError('MEMBER_EXISTS', `member ${wanted} already exists`, { details: { id: wanted } });
  }
  const clash = current.find((m) => m.peerUrls.includes(peerUrl));
  if (clash !== undefined) {
    throw new KvError('MEMBER_EXISTS', `peer URL ${peerUrl} is already used by member ${clash.id}`, {
      details: { id: clash.id },
    });
  }
  const id = wanted ?? newMemberId(peerUrl, ctx.clock.now(), ids);
  await change(ctx, req, (opts) =>
    o.isLearner === true
      ? ctx.replica.addLearner(id, peerUrl, opts)
      : ctx.replica.addVoter(id, peerUrl, opts),
  );
  const after = list(ctx);
  const member = after.find((m) => m.id === id) ?? {
    id,
    name: '',
    peerUrls: [peerUrl],
    clientUrls: [],
    isLearner: o.isLearner === true,
  };
  return { members: after, member, header: ctx.header(revision(ctx)) };
}

function known(ctx: NodeContext, id: number): Member {
  const m = list(ctx).find((x) => x.id === id);
  if (m === undefined) throw new KvError('MEMBER_NOT_FOUND', `member ${id} not found`, { details: { id } });
  return m;
}

/** etcd `MemberRemove`. Its published attributes are forgotten afterwards, in the background. */
export async function removeMember(
  ctx: NodeContext,
  id: number,
  options?: RequestOptions,
): Promise<MemberListResponse> {
  const member = checkId(id, 'member id');
  const req = checkRequestOptions(bag(options, 'removeMember options'));
  ctx.checkOpen();
  known(ctx, member);
  await change(ctx, req, (opts) => ctx.replica.removeMember(member, opts));
  if (member !== ctx.id)
    ctx.background((onDone) =>
      proposeUntil(
        ctx,
        { type: 'memberForget', id: member },
        () => !ctx.stateMachine.memberAttributes().has(member),
        onDone,
      ),
    );
  return { members: list(ctx), header: ctx.header(revision(ctx)) };
}

/**
 * etcd `MemberPromote`: a learner becomes a voter. Like etcd, refused while the learner is
 * far behind (`LEARNER_NOT_READY`), when this member leads and so knows the learner's progress.
 */
export async function promoteMember(
  ctx: NodeContext,
  id: number,
  options?: RequestOptions,
): Promise<MemberListResponse> {
  const member = checkId(id, 'member id');
  const req = checkRequestOptions(bag(options, 'promoteMember options'));
  ctx.checkOpen();
  if (!known(ctx, member).isLearner) {
    throw new KvError('MEMBER_NOT_LEARNER', `member ${member} is not a learner`, { details: { id: member } });
  }
  const st = ctx.replica.status();
  // Only the leader tracks the learner's progress, so only it can tell whether the learner is
  // ready (etcd forwards MemberPromote to its leader for the same reason). With no side channel
  // between members but Raft, a follower refuses with NOT_LEADER, naming the leader; the network
  // client then tries the next member until it reaches the leader.
  const progress = st.progress;
  if (progress === undefined) {
    const leaderId = ctx.replica.leaderId;
    throw new KvError(
      'NOT_LEADER',
      `promoting learner ${member} needs the leader's view of its progress; ask the leader` +
        (leaderId === undefined ? ' (none known yet)' : ` (member ${leaderId})`),
      { details: { id: member, leaderId: leaderId ?? 0 } },
    );
  }
  const learner = progress.get(member);
  const self = progress.get(ctx.id);
  if (learner === undefined || self === undefined || learner.match < self.match * LEARNER_READY_FRACTION) {
    throw new KvError(
      'LEARNER_NOT_READY',
      `learner ${member} is not in sync with the leader (match ${learner?.match ?? 0} of ${self?.match ?? 0})`,
      { details: { id: member } },
    );
  }
  await change(ctx, req, (opts) => ctx.replica.promoteLearner(member, opts));
  return { members: list(ctx), header: ctx.header(revision(ctx)) };
}

/**
 * Proposes `cmd` until `satisfied()` holds (checked before each attempt), retrying every
 * election timeout after a failure: used for this member's attributes (etcd's `publish`; a
 * joining member cannot publish before it is added) and for forgetting a removed member's.
 * `onDone` runs once it stops, satisfied or stopped. Returns a function that stops trying.
 */
export function proposeUntil(
  ctx: NodeContext,
  cmd: KvCommand,
  satisfied: () => boolean,
  onDone: () => void = () => {},
): () => void {
  let stopped = false;
  let timer: unknown;
  const finish = (): void => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) ctx.clock.clearTimeout(timer);
    onDone();
  };
  const attempt = (): void => {
    timer = undefined;
    if (stopped) return;
    if (ctx.stopped() || satisfied()) {
      finish();
      return;
    }
    ctx.propose(cmd, {}).then(
      () => finish(),
      (err: unknown) => {
        if (stopped || ctx.stopped()) return finish();
        ctx.logger.debug(`${cmd.type} failed; retrying`, { error: String(err) });
        timer = ctx.clock.setTimeout(attempt, ctx.options.electionTimeoutMs);
      },
    );
  };
  attempt();
  return finish;
}

/** Publishes this member's attributes until they are applied (see {@link proposeUntil}). */
export function publishAttributes(
  ctx: NodeContext,
  wanted: MemberAttributes,
  onDone?: () => void,
): () => void {
  return proposeUntil(
    ctx,
    { type: 'memberPublish', id: ctx.id, ...wanted },
    () => sameAttributes(ctx.stateMachine.memberAttributes().get(ctx.id), wanted),
    onDone,
  );
}

/**
 * The health check: a leader known, the member running, and its applied index within
 * {@link MAX_APPLY_LAG} of its commit index; with `linearizable`, also a ReadIndex round within
 * the timeout (etcd's `/health` does a linearizable read too).
 */
export async function health(
  ctx: NodeContext,
  options: { readonly linearizable?: boolean } & RequestOptions = {},
): Promise<KvHealth> {
  const o = bag(options, 'health options');
  const req = checkRequestOptions(o);
  const st = ctx.replica.status();
  const base = { leader: st.leader ?? 0, appliedIndex: st.applied, commitIndex: st.commit };
  const failure = ctx.failure();
  if (ctx.stopped()) return { ...base, healthy: false, reason: 'STOPPED' };
  if (failure !== undefined) return { ...base, healthy: false, reason: 'UNAVAILABLE' };
  if (st.leader === undefined) return { ...base, healthy: false, reason: 'NO_LEADER' };
  if (st.commit - st.applied > MAX_APPLY_LAG) return { ...base, healthy: false, reason: 'APPLY_LAGGING' };
  if (o.linearizable === true) {
    try {
      await ctx.readBarrier(req);
    } catch {
      return { ...base, healthy: false, reason: 'READ_FAILED' };
    }
  }
  return { ...base, healthy: true };
}
