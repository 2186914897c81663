/**
 * Throughput and latency over time, from a run's history, and the windows during which each
 * fault family was active, from its nemesis schedule: what `chart.html` plots, so a person can
 * see faults start, the cluster stall, and recover.
 *
 * Buckets hold the operations that **completed** in them: `ok` / `fail` / `info` per second, and
 * the latency (completion time − invoke time) of the `ok` ones as p50, p99 and max.
 */
import type { HistoryEvent } from '../history/types.js';
import type { NemesisEvent, NemesisSchedule } from '../nemesis/schedule.js';

/** One time bucket. */
export interface TimelinePoint {
  /** Bucket start, seconds since the history's time 0. */
  readonly t: number;
  readonly okPerS: number;
  readonly failPerS: number;
  readonly infoPerS: number;
  /** Latency of the `ok` completions (ms); null in a bucket without any. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** A time range during which one fault family was active (seconds since the load started). */
export interface FaultWindow {
  readonly family: string;
  readonly from: number;
  readonly to: number;
  /** The event that opened it, as text. */
  readonly label: string;
}

/** The `q`-quantile of sorted `xs` (nearest rank). */
function quantile(xs: readonly number[], q: number): number {
  const i = Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1));
  return xs[i] as number;
}

const round = (x: number): number => Math.round(x * 100) / 100;

/** Buckets the completions of `history` by `bucketMs` (see the module notes). */
export function timelineOf(history: readonly HistoryEvent[], bucketMs: number): TimelinePoint[] {
  const invokedAt = new Map<number, number>();
  const buckets: { ok: number; fail: number; info: number; lat: number[] }[] = [];
  const ns = bucketMs * 1e6;
  for (const e of history) {
    if (e.type === 'invoke') {
      invokedAt.set(e.process, e.time);
      continue;
    }
    const b = Math.floor(e.time / ns);
    for (let i = buckets.length; i <= b; i++) buckets.push({ ok: 0, fail: 0, info: 0, lat: [] });
    const bucket = buckets[b] as (typeof buckets)[number];
    bucket[e.type]++;
    const start = invokedAt.get(e.process);
    if (e.type === 'ok' && start !== undefined) bucket.lat.push((e.time - start) / 1e6);
  }
  const perS = 1000 / bucketMs;
  return buckets.map((b, i) => {
    const lat = [...b.lat].sort((x, y) => x - y);
    return {
      t: round((i * bucketMs) / 1000),
      okPerS: round(b.ok * perS),
      failPerS: round(b.fail * perS),
      infoPerS: round(b.info * perS),
      p50Ms: lat.length === 0 ? null : round(quantile(lat, 0.5)),
      p99Ms: lat.length === 0 ? null : round(quantile(lat, 0.99)),
      maxMs: lat.length === 0 ? null : round(lat[lat.length - 1] as number),
    };
  });
}

/** The family an event starts (`start`) or ends (`stop`), if any. */
function roleOf(e: NemesisEvent): { family: string; role: 'start' | 'stop' } | undefined {
  switch (e.type) {
    case 'partition':
      return { family: 'partition', role: 'start' };
    case 'heal':
      return { family: 'partition', role: 'stop' };
    case 'loss':
    case 'duplicate':
      return { family: e.type, role: e.rate > 0 ? 'start' : 'stop' };
    case 'delay':
      return { family: 'delay', role: e.maxMs > 3 ? 'start' : 'stop' };
    case 'crash':
    case 'disk':
      return { family: 'crash', role: 'start' };
    case 'restart':
      return { family: 'crash', role: 'stop' };
    case 'pause':
      return { family: 'pause', role: 'start' };
    case 'resume':
      return { family: 'pause', role: 'stop' };
    case 'skew':
    case 'jump':
      return { family: 'clock', role: 'start' };
    case 'clock-reset':
      return { family: 'clock', role: 'stop' };
    case 'grow':
      return { family: 'membership', role: 'start' };
    case 'shrink':
      return { family: 'membership', role: 'stop' };
    default:
      return undefined;
  }
}

/** The windows during which each fault family was active (see the module notes). */
export function faultWindows(schedule: NemesisSchedule): FaultWindow[] {
  const open = new Map<string, { from: number; label: string }>();
  const out: FaultWindow[] = [];
  const end = schedule.durationMs;
  for (const e of schedule.events) {
    if (e.type === 'pause-client') {
      out.push({
        family: 'client-pause',
        from: e.at / 1000,
        to: Math.min(end, e.at + e.ms) / 1000,
        label: `pause-client ${e.ms} ms`,
      });
      continue;
    }
    const r = roleOf(e);
    if (r === undefined) continue;
    const cur = open.get(r.family);
    if (r.role === 'start' && cur === undefined) open.set(r.family, { from: e.at, label: e.type });
    if (r.role === 'stop' && cur !== undefined) {
      out.push({ family: r.family, from: cur.from / 1000, to: e.at / 1000, label: cur.label });
      open.delete(r.family);
    }
  }
  for (const [family, cur] of open)
    out.push({ family, from: cur.from / 1000, to: end / 1000, label: cur.label });
  return out.sort((a, b) => a.from - b.from);
}

/** Whole-run figures for the summary table: ok ops/s over the load phase, latency quantiles. */
export function throughputOf(
  history: readonly HistoryEvent[],
  loadMs: number,
): { okPerS: number; p50Ms: number; p99Ms: number } {
  const invokedAt = new Map<number, number>();
  const lat: number[] = [];
  let ok = 0;
  for (const e of history) {
    if (e.type === 'invoke') invokedAt.set(e.process, e.time);
    else if (e.type === 'ok' && e.time <= loadMs * 1e6) {
      ok++;
      const start = invokedAt.get(e.process);
      if (start !== undefined) lat.push((e.time - start) / 1e6);
    }
  }
  lat.sort((a, b) => a - b);
  return {
    okPerS: round(ok / (loadMs / 1000)),
    p50Ms: lat.length === 0 ? 0 : round(quantile(lat, 0.5)),
    p99Ms: lat.length === 0 ? 0 : round(quantile(lat, 0.99)),
  };
}
