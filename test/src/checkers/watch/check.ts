import { VerificationError } from '../../errors.js';
import type { JsonValue } from '../../history/types.js';
import {
  isWatchEnd,
  isWatchStart,
  type WatchEventLine,
  type WatcherId,
  type WatchLogLine,
} from '../../history/watch-log.js';
import { type CheckResult, show } from '../result.js';
import type { CommittedChange, ValueExpectation, WatchChanges } from './changes.js';

/** Where in the log an anomaly is: the watcher and the change. */
interface At {
  readonly watcher: WatcherId;
  readonly key: string;
  readonly revision: number;
}

/**
 * Watch anomalies.
 * - `missed-event`: a committed change in the watcher's range and window never delivered (a
 *   gap). `acrossReconnect` is true when the gap sits between the last event a session
 *   delivered and the revision the next session restarted from.
 * - `duplicate-event`: the same (key, revision) delivered twice, e.g. replayed after a reconnect.
 * - `out-of-order`: an event with a lower revision than one delivered before it.
 * - `wrong-value`: the event's type or value differs from the committed change.
 * - `unexpected-event`: no committed or possible change explains the event.
 * - `duplicate-application`: the value of a write (unique per key) delivered at a revision other
 *   than the one that write was committed at: the write was applied twice.
 * - `event-before-start`: an event older than the revision its session started from.
 * - `event-outside-range`: an event for a key the watcher does not watch.
 * - `conflicting-events`: two watchers disagree on what changed at a (key, revision) that
 *   the history does not pin down (an `info` write).
 * - `revision-conflict`: the history itself gives one revision to two different operations.
 */
export type WatchAnomaly =
  | (At & {
      readonly type: 'missed-event';
      readonly message: string;
      readonly acrossReconnect: boolean;
    })
  | (At & { readonly type: 'duplicate-event'; readonly message: string })
  | (At & { readonly type: 'out-of-order'; readonly message: string; readonly after: number })
  | (At & { readonly type: 'wrong-value'; readonly message: string; readonly got: JsonValue })
  | (At & { readonly type: 'unexpected-event'; readonly message: string; readonly got: JsonValue })
  | (At & { readonly type: 'duplicate-application'; readonly message: string; readonly got: JsonValue })
  | (At & { readonly type: 'event-before-start'; readonly message: string; readonly start: number })
  | (At & { readonly type: 'event-outside-range'; readonly message: string })
  | (At & { readonly type: 'conflicting-events'; readonly message: string; readonly got: JsonValue })
  | {
      readonly type: 'revision-conflict';
      readonly message: string;
      readonly revision: number;
      readonly opIds: readonly number[];
    };

/** Counters of a watch check. */
export interface WatchStats {
  readonly watchers: number;
  /** Watch sessions (starts and restarts). */
  readonly sessions: number;
  readonly events: number;
  readonly committedChanges: number;
  /** `info` writes that watchers show were committed. */
  readonly inferredChanges: number;
}

/** The result of {@link checkWatches}. */
export type WatchResult = CheckResult<'watch', WatchAnomaly, WatchStats>;

interface Session {
  readonly start: number;
  readonly events: WatchEventLine[];
}

interface Watcher {
  readonly id: WatcherId;
  readonly key: string;
  readonly rangeEnd: string | undefined;
  readonly sessions: Session[];
  end: number | undefined;
}

/** What is known to have changed at one (key, revision). */
interface Known {
  readonly event: 'put' | 'delete';
  readonly expect: ValueExpectation;
  readonly opId: number;
}

const at = (key: string, revision: number) => `${revision}\u0000${key}`;

function inRange(w: Watcher, key: string): boolean {
  if (w.rangeEnd === undefined) return key === w.key;
  if (key < w.key) return false;
  return w.rangeEnd === '\u0000' || key < w.rangeEnd;
}

function matches(expect: ValueExpectation, value: JsonValue): boolean {
  if (expect.kind === 'any') return true;
  if (expect.kind === 'exact') return JSON.stringify(expect.value) === JSON.stringify(value);
  if (!Array.isArray(value)) return false;
  const list = value as readonly JsonValue[];
  const tail = list.slice(list.length - expect.elements.length);
  return list.length >= expect.elements.length && tail.every((x, i) => x === expect.elements[i]);
}

function describeExpect(e: ValueExpectation): string {
  return e.kind === 'exact'
    ? show(e.value)
    : e.kind === 'ends-with'
      ? `a list ending in ${show(e.elements)}`
      : 'anything';
}

function groupWatchers(log: readonly WatchLogLine[]): { watchers: Watcher[]; events: number } {
  const watchers = new Map<string, Watcher>();
  let events = 0;
  log.forEach((line, i) => {
    const id = JSON.stringify(line.watcher);
    const where = `watch log line ${i + 1} (watcher ${show(line.watcher)})`;
    let w = watchers.get(id);
    if (isWatchStart(line)) {
      if (w === undefined) {
        w = { id: line.watcher, key: line.key, rangeEnd: line.range_end, sessions: [], end: undefined };
        watchers.set(id, w);
      } else if (w.key !== line.key || w.rangeEnd !== line.range_end) {
        throw new VerificationError('WATCH_LOG_MALFORMED', `${where}: a restart must watch the same range`, {
          details: { line: i + 1, reason: 'range-changed' },
        });
      }
      w.sessions.push({ start: line.start_revision, events: [] });
      return;
    }
    const session = w?.sessions[w.sessions.length - 1];
    if (w === undefined || session === undefined) {
      throw new VerificationError('WATCH_LOG_MALFORMED', `${where}: no start_revision line before it`, {
        details: { line: i + 1, reason: 'not-started' },
      });
    }
    if (isWatchEnd(line)) {
      w.end = Math.max(w.end ?? 0, line.end_revision);
      return;
    }
    session.events.push(line);
    events++;
  });
  return { watchers: [...watchers.values()], events };
}

/**
 * Checks watch delivery: every watcher sees, for each key in its range, every committed change
 * with a revision in its window exactly once, in revision order, across reconnects, and each
 * event matches the change the history says was committed at that revision.
 *
 * A watcher's window runs from its first `start_revision` to its last `end_revision` (when the
 * log has none, to the highest revision it received: a dropped tail cannot be told apart from
 * a watcher that stopped early, so runs should write `end_revision`).
 *
 * Changes of unknown outcome (`info` writes) may or may not appear. An event that only such a
 * change explains (same key and value) proves that change committed at that revision: from
 * then on it counts as committed, so every other watcher covering it must see it too, and it
 * may not appear at a second revision.
 *
 * @throws VerificationError `WATCH_LOG_MALFORMED` for an event before its watcher started, or a
 *   restart naming a different range.
 */
export function checkWatches(log: readonly WatchLogLine[], changes: WatchChanges): WatchResult {
  const anomalies: WatchAnomaly[] = [];
  const known = new Map<string, Known>();
  const revisionOwner = new Map<number, number>();
  for (const c of changes.committed) {
    const owner = revisionOwner.get(c.revision);
    if (owner !== undefined && owner !== c.opId) {
      anomalies.push({
        type: 'revision-conflict',
        revision: c.revision,
        opIds: [owner, c.opId],
        message: `the history gives revision ${c.revision} to both T${owner} and T${c.opId}`,
      });
    }
    revisionOwner.set(c.revision, c.opId);
    known.set(at(c.key, c.revision), { event: c.event, expect: c.expect, opId: c.opId });
  }
  const committedValues = new Map<string, CommittedChange>();
  for (const c of changes.committed) {
    if (c.expect.kind === 'exact') committedValues.set(`${c.key}\u0000${JSON.stringify(c.expect.value)}`, c);
  }
  const possible = new Map<string, number[]>();
  for (const p of changes.possible) {
    const k = `${p.key}\u0000${p.event}\u0000${JSON.stringify(p.value)}`;
    possible.set(k, [...(possible.get(k) ?? []), p.opId]);
  }

  const { watchers, events } = groupWatchers(log);
  // Pass 1: explain every event; an info write shown by a watcher becomes known.
  const attributedAt = new Map<number, number>();
  let inferred = 0;
  for (const w of watchers) {
    for (const s of w.sessions) {
      for (const e of s.events) {
        const base = { watcher: w.id, key: e.key, revision: e.revision, got: e.value };
        const k = known.get(at(e.key, e.revision));
        if (k !== undefined) {
          if (k.event !== e.event || !matches(k.expect, e.value)) {
            const inferredHere = attributedAt.get(k.opId) === e.revision && !revisionOwner.has(e.revision);
            anomalies.push({
              ...base,
              type: inferredHere ? 'conflicting-events' : 'wrong-value',
              message:
                `watcher ${show(w.id)} got ${e.event} ${show(e.key)} = ${show(e.value)} at revision ${e.revision}, ` +
                `but T${k.opId} ${k.event === 'put' ? `put ${describeExpect(k.expect)}` : 'deleted it'} there`,
            });
          }
          continue;
        }
        const owner = revisionOwner.get(e.revision);
        const twice = committedValues.get(`${e.key}\u0000${JSON.stringify(e.value)}`);
        const candidates = possible.get(`${e.key}\u0000${e.event}\u0000${JSON.stringify(e.value)}`) ?? [];
        const free = candidates.find((op) => !attributedAt.has(op));
        if (owner === undefined && free !== undefined) {
          attributedAt.set(free, e.revision);
          known.set(at(e.key, e.revision), {
            event: e.event,
            expect: { kind: 'exact', value: e.value },
            opId: free,
          });
          inferred++;
          continue;
        }
        if (twice !== undefined || candidates.length > 0) {
          const op = twice?.opId ?? candidates[0];
          const where =
            twice !== undefined
              ? `committed at revision ${twice.revision}`
              : 'already shown at another revision';
          anomalies.push({
            ...base,
            type: 'duplicate-application',
            message: `watcher ${show(w.id)} got ${show(e.key)} = ${show(e.value)} at revision ${e.revision}: the value of T${op}, ${where}`,
          });
          continue;
        }
        anomalies.push({
          ...base,
          type: 'unexpected-event',
          message:
            `watcher ${show(w.id)} got ${e.event} ${show(e.key)} = ${show(e.value)} at revision ${e.revision}, ` +
            `which no operation explains${owner === undefined ? '' : ` (revision ${e.revision} belongs to T${owner})`}`,
        });
      }
    }
  }

  // Pass 2: per watcher, order, duplicates, window and completeness.
  const sortedKnown = [...known.entries()]
    .map(([id, k]) => {
      const cut = id.indexOf('\u0000');
      return { revision: Number(id.slice(0, cut)), key: id.slice(cut + 1), k };
    })
    .sort((a, b) => a.revision - b.revision || (a.key < b.key ? -1 : 1));
  for (const w of watchers) checkWatcher(w, sortedKnown, anomalies);

  return {
    checker: 'watch',
    valid: anomalies.length === 0,
    anomalies,
    stats: {
      watchers: watchers.length,
      sessions: watchers.reduce((n, w) => n + w.sessions.length, 0),
      events,
      committedChanges: changes.committed.length,
      inferredChanges: inferred,
    },
  };
}

function checkWatcher(
  w: Watcher,
  known: readonly { readonly revision: number; readonly key: string; readonly k: Known }[],
  anomalies: WatchAnomaly[],
): void {
  const seen = new Set<string>();
  let last = 0;
  let highest = 0;
  for (const s of w.sessions) {
    for (const e of s.events) {
      const base = { watcher: w.id, key: e.key, revision: e.revision };
      const id = at(e.key, e.revision);
      if (!inRange(w, e.key)) {
        anomalies.push({
          ...base,
          type: 'event-outside-range',
          message: `watcher ${show(w.id)} (watching ${show(w.key)}${w.rangeEnd === undefined ? '' : `..${show(w.rangeEnd)}`}) got an event for ${show(e.key)}`,
        });
        continue;
      }
      if (seen.has(id)) {
        anomalies.push({
          ...base,
          type: 'duplicate-event',
          message: `watcher ${show(w.id)} got ${show(e.key)}@${e.revision} twice${w.sessions.length > 1 ? ' (across reconnects)' : ''}`,
        });
        continue;
      }
      seen.add(id);
      if (e.revision < s.start) {
        anomalies.push({
          ...base,
          type: 'event-before-start',
          start: s.start,
          message: `watcher ${show(w.id)} got ${show(e.key)}@${e.revision} from a session started at revision ${s.start}`,
        });
      } else if (e.revision < last) {
        anomalies.push({
          ...base,
          type: 'out-of-order',
          after: last,
          message: `watcher ${show(w.id)} got ${show(e.key)}@${e.revision} after an event at revision ${last}`,
        });
      }
      last = Math.max(last, e.revision);
      highest = Math.max(highest, e.revision);
    }
  }
  const first = w.sessions[0];
  if (first === undefined) return;
  const from = first.start;
  const to = w.end ?? highest;
  for (const c of known) {
    if (c.revision < from || c.revision > to || !inRange(w, c.key) || seen.has(at(c.key, c.revision)))
      continue;
    const across = gapAtReconnect(w, c.revision);
    anomalies.push({
      watcher: w.id,
      key: c.key,
      revision: c.revision,
      type: 'missed-event',
      acrossReconnect: across,
      message:
        `watcher ${show(w.id)} never got ${show(c.key)}@${c.revision} (T${c.k.opId}'s ${c.k.event} of ` +
        `${describeExpect(c.k.expect)})${across ? ', lost across a reconnect' : ''}`,
    });
  }
}

/**
 * True when `revision` falls between the last event delivered before a reconnect and the first
 * event delivered after it: a client that restarted too late, or a server that dropped an
 * event right after the restart.
 */
function gapAtReconnect(w: Watcher, revision: number): boolean {
  let lastBefore = -1;
  for (let i = 0; i < w.sessions.length; i++) {
    const s = w.sessions[i] as Session;
    const firstHere = s.events.reduce((m, e) => Math.min(m, e.revision), Number.POSITIVE_INFINITY);
    if (i > 0 && revision > lastBefore && revision < firstHere) return true;
    lastBefore = s.events.reduce((m, e) => Math.max(m, e.revision), Math.max(lastBefore, s.start - 1));
  }
  return false;
}
