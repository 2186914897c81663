import { FieldReader, parseJsonLines } from './jsonl.js';
import type { JsonObject, JsonValue } from './types.js';

/** A watcher's id in `watch.jsonl`. */
export type WatcherId = string | number;

/** A delivered watch event, one line of `watch.jsonl` in delivery order. */
export interface WatchEventLine {
  readonly watcher: WatcherId;
  /** The key that changed (for a range watch, the actual key, not the range start). */
  readonly key: string;
  /** The revision of the change (etcd's `mod_revision` of a put, the delete's revision). */
  readonly revision: number;
  readonly event: 'put' | 'delete';
  /** The value put (`null` for a delete). */
  readonly value: JsonValue;
}

/**
 * A watch (re)started from `start_revision`. A watcher writes one at its first start and one at
 * every reconnect (a correct client restarts at one past the last revision it received).
 * `range_end` is optional: absent, the watcher watches `key` alone; present, it watches
 * `[key, range_end)` as etcd does (`"\u0000"` meaning every key ≥ `key`).
 */
export interface WatchStartLine {
  readonly watcher: WatcherId;
  readonly key: string;
  readonly start_revision: number;
  readonly range_end?: string;
}

/** The watcher is known to have received every change up to and including `end_revision`. */
export interface WatchEndLine {
  readonly watcher: WatcherId;
  readonly key: string;
  readonly end_revision: number;
}

/** One line of `watch.jsonl`. Tell them apart with {@link isWatchStart} / {@link isWatchEnd}. */
export type WatchLogLine = WatchEventLine | WatchStartLine | WatchEndLine;

/** True for a `start_revision` line. */
export function isWatchStart(line: WatchLogLine): line is WatchStartLine {
  return 'start_revision' in line;
}

/** True for an `end_revision` line. */
export function isWatchEnd(line: WatchLogLine): line is WatchEndLine {
  return 'end_revision' in line;
}

/** True for a delivered event line. */
export function isWatchEvent(line: WatchLogLine): line is WatchEventLine {
  return 'event' in line;
}

/**
 * Checks one decoded `watch.jsonl` line.
 *
 * @throws VerificationError `WATCH_LOG_MALFORMED` naming `where` and the field.
 */
export function toWatchLogLine(obj: JsonObject, where: string): WatchLogLine {
  const r = new FieldReader(obj, where, 'WATCH_LOG_MALFORMED');
  const watcher = r.id('watcher');
  const key = r.string('key');
  if (r.has('start_revision')) {
    const rangeEnd = r.optionalString('range_end');
    const start = r.count('start_revision');
    return rangeEnd === undefined
      ? { watcher, key, start_revision: start }
      : { watcher, key, start_revision: start, range_end: rangeEnd };
  }
  if (r.has('end_revision')) return { watcher, key, end_revision: r.count('end_revision') };
  return {
    watcher,
    key,
    revision: r.count('revision'),
    event: r.oneOf('event', ['put', 'delete'] as const),
    value: r.value('value'),
  };
}

/**
 * Parses `watch.jsonl` text (blank lines ignored), checking each line's shape.
 *
 * @throws VerificationError `WATCH_LOG_MALFORMED` naming the line.
 */
export function parseWatchLog(text: string): WatchLogLine[] {
  return parseJsonLines(text, 'WATCH_LOG_MALFORMED', (obj, line) => toWatchLogLine(obj, `line ${line}`));
}

/** A watch log as JSONL text, one line each, fields in the format's order. */
export function formatWatchLog(lines: readonly WatchLogLine[]): string {
  let out = '';
  for (const l of lines) {
    let obj: Record<string, JsonValue>;
    if (isWatchStart(l)) {
      obj = { watcher: l.watcher, key: l.key, start_revision: l.start_revision };
      if (l.range_end !== undefined) obj.range_end = l.range_end;
    } else if (isWatchEnd(l)) {
      obj = { watcher: l.watcher, key: l.key, end_revision: l.end_revision };
    } else {
      obj = { watcher: l.watcher, key: l.key, revision: l.revision, event: l.event, value: l.value };
    }
    out += `${JSON.stringify(obj)}\n`;
  }
  return out;
}
