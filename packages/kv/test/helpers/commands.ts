/** Small builders of state machine commands for tests. */
import type { KvCommand } from '@flotilla/kv';

const enc = new TextEncoder();
export const b = (s: string): Uint8Array => enc.encode(s);
export const s = (u: Uint8Array | undefined): string =>
  u === undefined ? '<undefined>' : Buffer.from(u).toString();

export function put(key: string, value: string, opts: { lease?: number; prevKv?: boolean } = {}): KvCommand {
  return {
    type: 'put',
    key: b(key),
    value: b(value),
    lease: opts.lease ?? 0,
    prevKv: opts.prevKv ?? false,
    ignoreValue: false,
    ignoreLease: false,
  };
}

export function del(key: string, rangeEnd?: string): KvCommand {
  return {
    type: 'deleteRange',
    key: b(key),
    rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd),
    prevKv: true,
  };
}

export const grant = (id: number, ttl: number): KvCommand => ({ type: 'leaseGrant', id, ttl });
export const revoke = (id: number): KvCommand => ({ type: 'leaseRevoke', id });
export const renew = (id: number): KvCommand => ({ type: 'leaseRenew', id });
export const expire = (id: number, epoch: number): KvCommand => ({ type: 'leaseExpire', id, epoch });
export const compact = (revision: number): KvCommand => ({ type: 'compact', revision });
