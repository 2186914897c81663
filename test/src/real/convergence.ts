/**
 * After the final operations: every member of the configuration must apply the same log and
 * hold the same store (§5.4.3, state machine safety, as seen from outside). Real mode cannot
 * hash a member's store in place, so it reads each member's whole keyspace **serializably**
 * (from that member's own store, no ReadIndex) at one revision R, the lowest any member has
 * reached, and compares the key-values (value, create and mod revision, version, lease).
 */
import type { RealCluster } from './cluster.js';

/** What {@link checkConvergence} found. */
export interface Convergence {
  /** True when every member applied the same index at some poll. */
  readonly converged: boolean;
  /** The revision the stores were compared at (0 when none could be read). */
  readonly revision: number;
  /** Members whose store was read at `revision`. */
  readonly compared: readonly number[];
  /** Members whose store differs from the first one's, with the first difference. */
  readonly mismatches: readonly string[];
  /** Each member's applied index and revision at the last poll (for problem reports). */
  readonly describe: string;
}

const dec = new TextDecoder();

/** Waits up to `timeoutMs` for equal applied indexes, then compares stores (see the notes). */
export async function checkConvergence(cluster: RealCluster, timeoutMs: number): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs;
  let converged = false;
  let describe = '';
  let revision = 0;
  for (;;) {
    const ids = cluster.ids;
    const statuses = await Promise.all(ids.map((id) => cluster.status(id, 1000)));
    describe = ids
      .map((id, i) => {
        const s = statuses[i];
        return s === undefined
          ? `${id}: ${cluster.member(id)?.state ?? '?'}, no status`
          : `${id}: applied ${s.applied} revision ${s.revision}${s.isLearner ? ' (learner)' : ''}`;
      })
      .join('; ');
    const answered = statuses.filter((s) => s !== undefined);
    if (answered.length > 0) revision = Math.min(...answered.map((s) => s.revision));
    if (answered.length === ids.length && new Set(answered.map((s) => s.applied)).size === 1) {
      converged = true;
      break;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const compared: number[] = [];
  const mismatches: string[] = [];
  let reference: { id: number; lines: string[] } | undefined;
  if (revision > 0) {
    for (const id of cluster.ids) {
      const client = cluster.member(id)?.client;
      if (client === undefined || cluster.member(id)?.state !== 'running') continue;
      let lines: string[];
      try {
        const r = await client.get('\0', { rangeEnd: '\0', revision, serializable: true, timeoutMs: 5000 });
        lines = r.kvs.map(
          (kv) =>
            `${dec.decode(kv.key)}=${dec.decode(kv.value)} c${kv.createRevision} m${kv.modRevision} v${kv.version} l${kv.lease}`,
        );
      } catch (err) {
        mismatches.push(`member ${id}: store unreadable at revision ${revision} (${String(err)})`);
        continue;
      }
      compared.push(id);
      if (reference === undefined) {
        reference = { id, lines };
        continue;
      }
      const ref = reference;
      const n = Math.max(ref.lines.length, lines.length);
      for (let i = 0; i < n; i++) {
        if (ref.lines[i] !== lines[i]) {
          mismatches.push(
            `member ${id} differs from member ${ref.id} at revision ${revision}: ` +
              `${lines[i] ?? '(nothing)'} where ${ref.id} has ${ref.lines[i] ?? '(nothing)'}`,
          );
          break;
        }
      }
    }
  }
  return { converged, revision, compared, mismatches, describe };
}
