import type { RegisterKey } from './types.js';

/** A key as a map key that keeps `1` and `"1"` apart. */
export function keyId(key: RegisterKey): string {
  return typeof key === 'number' ? `n:${key}` : `s:${key}`;
}
