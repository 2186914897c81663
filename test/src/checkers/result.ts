import { VerificationError } from '../errors.js';

/**
 * A checker's verdict: `true` (no anomaly), `false` (at least one anomaly, with an explanation)
 * or `'unknown'` (a budget ran out before the checker could decide; never a silent pass).
 */
export type Validity = true | false | 'unknown';

/** What every anomaly carries: a stable `type` to branch on and a one-line `message`. */
export interface AnomalyBase {
  readonly type: string;
  readonly message: string;
}

/** The shape every checker's result shares; `checker` tells the results apart. */
export interface CheckResult<C extends string, A extends AnomalyBase, S> {
  readonly checker: C;
  readonly valid: Validity;
  readonly anomalies: readonly A[];
  readonly stats: S;
}

/** The distinct anomaly types in a result (for assertions such as "reports G-single"). */
export function anomalyTypes(result: { readonly anomalies: readonly AnomalyBase[] }): string[] {
  return [...new Set(result.anomalies.map((a) => a.type))].sort();
}

/** Nanoseconds as milliseconds with microsecond precision, e.g. `12.345ms`. */
export function formatNanos(ns: number): string {
  if (!Number.isFinite(ns)) return '∞';
  return `${(ns / 1e6).toFixed(3)}ms`;
}

/** A JSON-ish rendering of a value for explanations (`null` shown as `absent` where asked). */
export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Throws `INVALID_OPTION` unless `value` is a positive integer. */
export function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new VerificationError('INVALID_OPTION', `${name} must be a positive integer, got ${value}`, {
      details: { option: name },
    });
  }
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is a finite non-negative number. */
export function requireNonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new VerificationError('INVALID_OPTION', `${name} must be a non-negative number, got ${value}`, {
      details: { option: name },
    });
  }
  return value;
}

/** `verdict: VALID` / `INVALID` / `UNKNOWN` as a header line. */
export function verdictLine(name: string, valid: Validity): string {
  const word = valid === true ? 'VALID' : valid === false ? 'INVALID' : 'UNKNOWN (a budget ran out)';
  return `${name}: ${word}`;
}

/** The verdict of several checks together: false if any failed, else unknown if any was undecided. */
export function combineValidity(vs: readonly Validity[]): Validity {
  if (vs.includes(false)) return false;
  if (vs.includes('unknown')) return 'unknown';
  return true;
}
