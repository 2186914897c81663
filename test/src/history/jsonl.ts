import { VerificationError, type VerificationErrorCode } from '../errors.js';
import type { EventType, HistoryEvent, JsonObject, JsonValue } from './types.js';

/**
 * Splits JSONL text into parsed objects, one per non-blank line. Each object is handed to
 * `convert` with its 1-based line number; `convert` throws on a bad shape.
 */
export function parseJsonLines<T>(
  text: string,
  code: VerificationErrorCode,
  convert: (obj: JsonObject, line: number) => T,
): T[] {
  const out: T[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      throw new VerificationError(code, `line ${i + 1}: not valid JSON`, {
        cause: err,
        details: { line: i + 1, reason: 'not-json' },
      });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new VerificationError(code, `line ${i + 1}: expected a JSON object`, {
        details: { line: i + 1, reason: 'not-an-object' },
      });
    }
    out.push(convert(parsed as JsonObject, i + 1));
  }
  return out;
}

/** Field readers that throw a {@link VerificationError} naming the line and the field. */
export class FieldReader {
  constructor(
    private readonly obj: JsonObject,
    private readonly where: string,
    private readonly code: VerificationErrorCode,
  ) {}

  fail(field: string, expected: string): never {
    throw new VerificationError(
      this.code,
      `${this.where}: field "${field}" must be ${expected}, got ${JSON.stringify(this.obj[field]) ?? 'nothing'}`,
      { details: { where: this.where, field, reason: 'bad-field' } },
    );
  }

  has(field: string): boolean {
    return Object.hasOwn(this.obj, field);
  }

  /** A non-negative safe integer. */
  count(field: string): number {
    const v = this.obj[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      this.fail(field, 'a non-negative integer');
    return v;
  }

  optionalCount(field: string): number | undefined {
    return this.has(field) && this.obj[field] !== null ? this.count(field) : undefined;
  }

  /** A finite non-negative number (times, TTLs). */
  nonNegative(field: string): number {
    const v = this.obj[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(field, 'a non-negative number');
    return v;
  }

  string(field: string): string {
    const v = this.obj[field];
    if (typeof v !== 'string' || v === '') this.fail(field, 'a non-empty string');
    return v;
  }

  optionalString(field: string): string | undefined {
    return this.has(field) && this.obj[field] !== null ? this.string(field) : undefined;
  }

  boolean(field: string): boolean {
    const v = this.obj[field];
    if (typeof v !== 'boolean') this.fail(field, 'true or false');
    return v;
  }

  /** A string or a non-negative integer (keys, ids). */
  id(field: string): string | number {
    const v = this.obj[field];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    return this.fail(field, 'a non-empty string or a non-negative integer');
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.obj[field];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(field, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return v as T;
  }

  /** Any JSON value; a missing field reads as `null`. */
  value(field: string): JsonValue {
    return this.obj[field] ?? null;
  }
}

const EVENT_TYPES: readonly EventType[] = ['invoke', 'ok', 'fail', 'info'];

/**
 * Checks one decoded history line and returns it as a {@link HistoryEvent} holding only the
 * format's fields. Throws `HISTORY_MALFORMED` naming `where` and the field on a bad shape.
 */
export function toHistoryEvent(obj: JsonObject, where: string): HistoryEvent {
  const r = new FieldReader(obj, where, 'HISTORY_MALFORMED');
  const event: {
    -readonly [K in keyof HistoryEvent]: HistoryEvent[K];
  } = {
    index: r.count('index'),
    time: r.nonNegative('time'),
    process: r.count('process'),
    type: r.oneOf('type', EVENT_TYPES),
    f: r.string('f'),
    value: r.value('value'),
  };
  const revision = r.optionalCount('revision');
  if (revision !== undefined) event.revision = revision;
  const error = r.optionalString('error');
  if (error !== undefined) event.error = error;
  return event;
}

/**
 * Parses `history.jsonl` text (blank lines ignored). Checks each line's shape only; call
 * {@link validateHistory} (or {@link pairOperations}) for the rules between lines.
 *
 * @throws VerificationError `HISTORY_MALFORMED` naming the line.
 */
export function parseHistory(text: string): HistoryEvent[] {
  return parseJsonLines(text, 'HISTORY_MALFORMED', (obj, line) => toHistoryEvent(obj, `line ${line}`));
}

/** One history event as a JSON line, fields in the format's order (no trailing newline). */
export function formatHistoryEvent(event: HistoryEvent): string {
  const ordered: Record<string, JsonValue> = {
    index: event.index,
    time: event.time,
    process: event.process,
    type: event.type,
    f: event.f,
    value: event.value,
  };
  if (event.revision !== undefined) ordered.revision = event.revision;
  if (event.error !== undefined) ordered.error = event.error;
  return JSON.stringify(ordered);
}

/** A whole history as JSONL text: one event a line, each line ending in `\n`. */
export function formatHistory(events: readonly HistoryEvent[]): string {
  let out = '';
  for (const e of events) out += `${formatHistoryEvent(e)}\n`;
  return out;
}
