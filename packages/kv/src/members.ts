/**
 * The member list (etcd's `MemberList`), assembled from the two replicated sources that hold it:
 * the Raft configuration (who is a voter or a learner, and the peer address each runtime
 * addition carried in its conf change) and the KV state machine's member attributes (name,
 * client URLs and, for founding members, the peer URL they announced), published through Raft
 * by each member once it runs, as etcd's `publish` does. Both survive snapshots.
 */
import { createHash } from 'node:crypto';
import type { ConfState } from '@flotilla/raft';
import type { Member } from './api.js';
import type { MemberAttributes } from './snapshot.js';

/** Every member of `conf` (both halves of a joint configuration), ascending. */
export function memberIds(conf: ConfState): number[] {
  const ids = new Set<number>([
    ...conf.voters,
    ...conf.learners,
    ...conf.votersOutgoing,
    ...conf.learnersNext,
  ]);
  return [...ids].sort((a, b) => a - b);
}

/** The members of `conf` with their addresses and published attributes. */
export function memberList(
  conf: ConfState,
  addresses: Readonly<Record<number, string>>,
  attributes: ReadonlyMap<number, MemberAttributes>,
): Member[] {
  const learners = new Set([...conf.learners, ...conf.learnersNext]);
  return memberIds(conf).map((id) => {
    const attrs = attributes.get(id);
    const address = addresses[id];
    return {
      id,
      name: attrs?.name ?? '',
      peerUrls: address !== undefined ? [address] : [...(attrs?.peerUrls ?? [])],
      clientUrls: [...(attrs?.clientUrls ?? [])],
      isLearner: learners.has(id) && !conf.voters.includes(id),
    };
  });
}

/**
 * An id for a member added without one, derived from its peer URL and the time of the request
 * (etcd derives member ids from the peer URLs, cluster name and time too). 48 bits, never 0,
 * never one of `taken`.
 */
export function newMemberId(peerUrl: string, now: number, taken: ReadonlySet<number>): number {
  for (let salt = 0; ; salt++) {
    const digest = createHash('sha256').update(`${peerUrl}\n${now}\n${salt}`).digest();
    const id = digest.readUIntBE(0, 6);
    if (id !== 0 && !taken.has(id)) return id;
  }
}

/** True when the published attributes already equal `wanted` (nothing to publish). */
export function sameAttributes(a: MemberAttributes | undefined, wanted: MemberAttributes): boolean {
  if (a === undefined) return false;
  const eq = (x: readonly string[], y: readonly string[]): boolean =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  return a.name === wanted.name && eq(a.peerUrls, wanted.peerUrls) && eq(a.clientUrls, wanted.clientUrls);
}
