/**
 * The lease API of a node (etcd's Lease service): grants, revokes and keep-alives are commands
 * through Raft; `timeToLive` and `leases` are linearizable reads (ReadIndex, then this member's
 * lessor and lease keeper). See `lease-keeper.ts` and the README for the design.
 */
import { normalizeTtl } from '@flotilla/lease';
import type {
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  RequestOptions,
} from './api.js';
import type { NodeContext } from './context.js';
import { KvError } from './errors.js';
import { bag, checkId, checkRequestOptions } from './requests.js';
import { expectResult, toKvError } from './results.js';

/**
 * etcd `LeaseGrant`. The TTL is raised to the cluster's minimum; without `options.id` the
 * cluster picks the id (the grant's log index, or the next free id above it).
 */
export async function grant(
  ctx: NodeContext,
  ttlSeconds: number,
  options?: { readonly id?: number } & RequestOptions,
): Promise<LeaseGrantResponse> {
  const o = bag(options, 'grant options');
  try {
    normalizeTtl(ttlSeconds, ctx.options.minLeaseTtlSeconds);
  } catch (err) {
    throw toKvError(err);
  }
  const id = o.id === undefined ? 0 : checkId(o.id, 'lease id');
  const r = expectResult(
    await ctx.propose({ type: 'leaseGrant', id, ttl: ttlSeconds }, checkRequestOptions(o)),
    'leaseGrant',
  );
  return { id: r.id, ttl: r.ttl, header: ctx.header(r.revision) };
}

/** etcd `LeaseRevoke`: deletes the lease and its keys (one revision). */
export async function revoke(
  ctx: NodeContext,
  id: number,
  options?: RequestOptions,
): Promise<LeaseRevokeResponse> {
  const lease = checkId(id, 'lease id');
  const req = checkRequestOptions(bag(options, 'revoke options'));
  const r = expectResult(await ctx.propose({ type: 'leaseRevoke', id: lease }, req), 'leaseRevoke');
  return { header: ctx.header(r.revision) };
}

/**
 * One keep-alive: a `leaseRenew` command through Raft, so it reaches the leader's timer from
 * any member (see the README's lease design). Rejects `LEASE_NOT_FOUND` when the lease is gone.
 */
export async function keepAliveOnce(
  ctx: NodeContext,
  id: number,
  options?: RequestOptions,
): Promise<LeaseKeepAliveResponse> {
  const lease = checkId(id, 'lease id');
  const req = checkRequestOptions(bag(options, 'keep-alive options'));
  const r = expectResult(await ctx.propose({ type: 'leaseRenew', id: lease }, req), 'leaseRenew');
  return { id: r.id, ttl: r.ttl, header: ctx.header(r.revision) };
}

/**
 * etcd `LeaseTimeToLive`, linearizable: `ttl` -1 when the lease does not exist. The remaining
 * time is exact on the leader and estimated from applied entries elsewhere (`lease-keeper.ts`).
 */
export async function timeToLive(
  ctx: NodeContext,
  id: number,
  options?: { readonly keys?: boolean } & RequestOptions,
): Promise<LeaseTimeToLiveResponse> {
  const lease = checkId(id, 'lease id');
  const o = bag(options, 'timeToLive options');
  if (o.keys !== undefined && typeof o.keys !== 'boolean')
    throw new KvError('INVALID_ARGUMENT', 'keys must be a boolean');
  await ctx.readBarrier(checkRequestOptions(o));
  const header = ctx.header(ctx.stateMachine.store.revision);
  const info = ctx.stateMachine.lessor.lookup(lease);
  const remaining = ctx.leases.remainingMs(lease);
  if (info === undefined || remaining === undefined)
    return { id: lease, ttl: -1, grantedTtl: 0, keys: [], header };
  const keys = o.keys === true ? ctx.stateMachine.store.leaseKeys(lease) : [];
  return { id: lease, ttl: Math.ceil(remaining / 1000), grantedTtl: info.grantedTtl, keys, header };
}

/** etcd `LeaseLeases`, linearizable. */
export async function leases(ctx: NodeContext, options?: RequestOptions): Promise<LeaseLeasesResponse> {
  await ctx.readBarrier(checkRequestOptions(bag(options, 'leases options')));
  const leases = ctx.stateMachine.lessor.leases().map((l) => ({ id: l.id }));
  return { leases, header: ctx.header(ctx.stateMachine.store.revision) };
}
