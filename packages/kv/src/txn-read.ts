/**
 * Read-only transactions. etcd serves a transaction that cannot write (no put or delete in
 * either branch, recursively) as a read: through ReadIndex and the local store, not through
 * the log (`isTxnReadonly` in its v3 server). It is still strictly serializable: a ReadIndex
 * read observes every write acknowledged before it started.
 */
import type { Op, TxnRequest } from '@flotilla/mvcc';

function opReadOnly(op: Op): boolean {
  if ('range' in op) return true;
  if ('txn' in op) return isReadOnlyTxn(op.txn);
  return false;
}

/** True when neither branch of `txn` (nor of any nested txn) writes. */
export function isReadOnlyTxn(txn: TxnRequest): boolean {
  return (txn.success ?? []).every(opReadOnly) && (txn.failure ?? []).every(opReadOnly);
}
