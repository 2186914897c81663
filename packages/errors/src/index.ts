/**
 * The error type every Flotilla package throws at its API boundary.
 *
 * Each failure mode has a stable string `code` (for example `PROPOSAL_DROPPED`, `WAL_CORRUPT`,
 * `COMPACTED`). Codes are public API: callers branch on `err.code`, never on the message,
 * and a code once published keeps its meaning. Packages define subclasses (one per concern)
 * so `instanceof` also works, but the code is the contract.
 *
 * @example
 * ```ts
 * import { FlotillaError, isFlotillaError } from '@flotilla/errors';
 *
 * try {
 *   throw new FlotillaError('EMPTY_KEY', 'key must not be empty');
 * } catch (err) {
 *   if (isFlotillaError(err, 'EMPTY_KEY')) console.log('rejected:', err.message);
 * }
 * ```
 *
 * @packageDocumentation
 */

/** Options accepted by {@link FlotillaError}'s constructor. */
export interface FlotillaErrorOptions {
  /** The lower-level error that caused this one, kept for diagnosis. */
  cause?: unknown;
  /** Structured details a caller may use (for example `{ leaderId: 3 }`). */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * Base class of every error Flotilla throws on purpose.
 *
 * Invariant: `code` is a non-empty UPPER_SNAKE_CASE string and never changes after construction.
 */
export class FlotillaError extends Error {
  /** Stable, machine-readable failure code (public API). */
  readonly code: string;
  /** Structured details, when the failure has any (never undefined, possibly empty). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: FlotillaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!/^[A-Z][A-Z0-9_]*$/.test(code)) {
      throw new TypeError(`FlotillaError code must be UPPER_SNAKE_CASE, got ${JSON.stringify(code)}`);
    }
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
    // Keep the subclass name (RaftError, WalError, ...) in stack traces and `String(err)`.
    this.name = new.target.name;
  }
}

/**
 * True when `err` is a {@link FlotillaError}, optionally with the given `code`.
 * Works across duplicated copies of this package (it checks the shape, not only the prototype).
 */
export function isFlotillaError(err: unknown, code?: string): err is FlotillaError {
  if (err instanceof FlotillaError) return code === undefined || err.code === code;
  if (typeof err !== 'object' || err === null) return false;
  const candidate = err as { code?: unknown; details?: unknown };
  return (
    err instanceof Error &&
    typeof candidate.code === 'string' &&
    typeof candidate.details === 'object' &&
    (code === undefined || candidate.code === code)
  );
}
