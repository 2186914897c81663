import { isFlotillaError } from '@flotilla/errors';
import { Lessor, type LessorOptions } from '@flotilla/lease';
import { MvccStore } from '@flotilla/mvcc';

/** An `assert.throws`/`rejects` matcher for a FlotillaError code. */
export const code =
  (c: string) =>
  (err: unknown): boolean => {
    if (isFlotillaError(err, c)) return true;
    throw new Error(`expected code ${c}, got ${String(err)}`, { cause: err });
  };

/** A store wired to a Lessor as a host does it. */
export function newLessor(options: LessorOptions = {}): { store: MvccStore; lessor: Lessor } {
  let lessor: Lessor | undefined;
  const store = new MvccStore({ leaseExists: (id) => lessor?.has(id) ?? false });
  lessor = new Lessor(store, options);
  return { store, lessor };
}

const decoder = new TextDecoder();
/** Bytes as text. */
export const text = (b: Uint8Array): string => decoder.decode(b);

/** Tracks a promise's outcome without awaiting it (and without an unhandled rejection). */
export function track<T>(p: Promise<T>): {
  readonly state: () => 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  error?: unknown;
} {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  const out: { state: () => typeof state; value?: T; error?: unknown } = { state: () => state };
  p.then(
    (v) => {
      state = 'fulfilled';
      out.value = v;
    },
    (e: unknown) => {
      state = 'rejected';
      out.error = e;
    },
  );
  return out;
}
