/**
 * Nemesis schedules as data: a list of timed fault events, generated from a seed, printed in
 * every report, executed by a mode-specific executor (`sim-nemesis.ts` for the simulation; the
 * real-process mode maps the same events onto a TCP proxy, signals and the CLI).
 *
 * Targets such as "the leader" are resolved when an event runs, and the executor logs what each
 * event actually did; the schedule itself depends only on the seed.
 */
import type { Random } from '@flotilla/raft';

/** Fault families a run can enable (Jepsen's nemesis names where one exists). */
export type FaultKind =
  | 'partition'
  | 'loss'
  | 'duplicate'
  | 'delay'
  | 'crash'
  | 'pause'
  | 'clock'
  | 'membership'
  | 'transfer'
  | 'disk'
  | 'client-pause';

/** Every fault family. */
export const FAULT_KINDS: readonly FaultKind[] = [
  'partition',
  'loss',
  'duplicate',
  'delay',
  'crash',
  'pause',
  'clock',
  'membership',
  'transfer',
  'disk',
  'client-pause',
];

/** Who an event acts on, resolved when it runs. */
export type Target = 'leader' | 'one' | 'majority' | 'all';

/** Shapes of network partitions. */
export type PartitionShape = 'halves' | 'isolate-leader' | 'isolate-one' | 'bridge' | 'ring';

/** One fault event; `at` is ms since the load phase started. */
export type NemesisEvent = { readonly at: number } & (
  | { readonly type: 'partition'; readonly shape: PartitionShape }
  | { readonly type: 'heal' }
  | { readonly type: 'loss'; readonly rate: number }
  | { readonly type: 'duplicate'; readonly rate: number }
  | { readonly type: 'delay'; readonly minMs: number; readonly maxMs: number }
  | { readonly type: 'crash'; readonly who: Target; readonly writes: 'random' | 'torn' }
  | { readonly type: 'restart' }
  | { readonly type: 'pause'; readonly who: Target }
  | { readonly type: 'resume' }
  | { readonly type: 'skew'; readonly who: Target; readonly rate: number }
  | { readonly type: 'jump'; readonly who: Target; readonly ms: number }
  | { readonly type: 'clock-reset' }
  | { readonly type: 'grow' }
  | { readonly type: 'promote' }
  | { readonly type: 'shrink' }
  | { readonly type: 'transfer' }
  | { readonly type: 'disk'; readonly who: Target; readonly fault: 'fsync-error' | 'crash-in-fsync' }
  | { readonly type: 'pause-client'; readonly ms: number }
);

/** A generated schedule and what it was generated for. */
export interface NemesisSchedule {
  readonly kinds: readonly FaultKind[];
  readonly durationMs: number;
  readonly events: readonly NemesisEvent[];
}

/** Timing knobs of {@link generateSchedule}. */
export interface ScheduleOptions {
  readonly kinds: readonly FaultKind[];
  /** Length of the load phase (ms); no event is scheduled after it. */
  readonly durationMs: number;
  /** Scales every gap between faults (default 1; < 1 is more aggressive). */
  readonly intensity?: number;
  /** A lease TTL (ms) the client-pause nemesis should outlast (default 1000). */
  readonly leaseTtlMs?: number;
  /** Largest clock step the clock nemesis makes (ms, default 150). */
  readonly maxJumpMs?: number;
  /** Drift range of the clock nemesis (default [0.9, 1.1]). */
  readonly rates?: readonly [number, number];
}

const between = (rng: Random, lo: number, hi: number): number => Math.round(lo + rng.next() * (hi - lo));

/**
 * Generates a schedule: each enabled fault family gets its own timeline of start/stop pairs
 * (fault, then recovery after a while, then a quiet gap), so families overlap as Jepsen's
 * combined nemeses do. Deterministic in `rng`.
 */
export function generateSchedule(rng: Random, o: ScheduleOptions): NemesisSchedule {
  const events: NemesisEvent[] = [];
  const k = o.intensity ?? 1;
  const end = o.durationMs;
  const ttl = o.leaseTtlMs ?? 1000;
  const [rMin, rMax] = o.rates ?? [0.9, 1.1];
  const maxJump = o.maxJumpMs ?? 150;
  const who = (f: Random): Target => (f.chance(0.5) ? 'leader' : 'one');
  const timeline = (
    gap: readonly [number, number],
    dur: readonly [number, number],
    start: (at: number) => NemesisEvent[],
    stop: (at: number) => NemesisEvent[],
  ): void => {
    let t = between(rng, 0, gap[1] * k);
    while (t < end) {
      const d = between(rng, dur[0], dur[1]);
      events.push(...start(t));
      events.push(...stop(Math.min(t + d, end)));
      t += d + between(rng, gap[0] * k, gap[1] * k);
    }
  };
  for (const kind of o.kinds) {
    const f = rng.fork();
    switch (kind) {
      case 'partition': {
        const shapes: PartitionShape[] = ['halves', 'isolate-leader', 'isolate-one', 'bridge', 'ring'];
        timeline(
          [150, 500],
          [150, 700],
          (at) => [{ at, type: 'partition', shape: f.pick(shapes) }],
          (at) => [{ at, type: 'heal' }],
        );
        break;
      }
      case 'loss':
        timeline(
          [200, 600],
          [200, 600],
          (at) => [{ at, type: 'loss', rate: Math.round(5 + f.next() * 30) / 100 }],
          (at) => [{ at, type: 'loss', rate: 0 }],
        );
        break;
      case 'duplicate':
        timeline(
          [200, 600],
          [200, 800],
          (at) => [{ at, type: 'duplicate', rate: Math.round(5 + f.next() * 30) / 100 }],
          (at) => [{ at, type: 'duplicate', rate: 0 }],
        );
        break;
      case 'delay':
        timeline(
          [200, 600],
          [200, 800],
          (at) => [{ at, type: 'delay', minMs: 1, maxMs: between(f, 10, 60) }],
          (at) => [{ at, type: 'delay', minMs: 1, maxMs: 3 }],
        );
        break;
      case 'crash':
        timeline(
          [200, 700],
          [30, 400],
          (at) => [
            {
              at,
              type: 'crash',
              who: f.chance(0.1) ? 'all' : f.chance(0.25) ? 'majority' : f.chance(0.5) ? 'leader' : 'one',
              writes: f.chance(0.3) ? 'torn' : 'random',
            },
          ],
          (at) => [{ at, type: 'restart' }],
        );
        break;
      case 'pause':
        timeline(
          [200, 700],
          [80, 500],
          (at) => [{ at, type: 'pause', who: f.chance(0.6) ? 'leader' : 'one' }],
          (at) => [{ at, type: 'resume' }],
        );
        break;
      case 'clock':
        timeline(
          [200, 600],
          [300, 900],
          (at) => [
            {
              at,
              type: 'skew',
              who: who(f),
              rate: Math.round((rMin + f.next() * (rMax - rMin)) * 1000) / 1000,
            },
            ...(f.chance(0.5)
              ? [{ at, type: 'jump', who: who(f), ms: between(f, 10, maxJump) } as const]
              : []),
          ],
          (at) => [{ at, type: 'clock-reset' }],
        );
        break;
      case 'membership':
        timeline(
          [300, 800],
          [400, 900],
          (at) => [
            { at, type: 'grow' },
            { at: at + between(f, 150, 300), type: 'promote' },
          ],
          (at) => [{ at, type: 'shrink' }],
        );
        break;
      case 'transfer':
        timeline(
          [150, 700],
          [0, 0],
          (at) => [{ at, type: 'transfer' }],
          () => [],
        );
        break;
      case 'disk':
        timeline(
          [300, 900],
          [100, 400],
          (at) => [
            { at, type: 'disk', who: who(f), fault: f.chance(0.5) ? 'fsync-error' : 'crash-in-fsync' },
          ],
          (at) => [{ at, type: 'restart' }],
        );
        break;
      case 'client-pause':
        timeline(
          [300, 1000],
          [0, 0],
          (at) => [
            { at, type: 'pause-client', ms: between(f, Math.round(ttl * 1.2), Math.round(ttl * 2.5)) },
          ],
          () => [],
        );
        break;
    }
  }
  const inWindow = events.filter((e) => e.at <= end);
  inWindow.sort((a, b) => a.at - b.at);
  return { kinds: [...o.kinds], durationMs: o.durationMs, events: inWindow };
}

/**
 * Leader churn (the Raft paper's Figure 8 as a nemesis): slow links (so a leader's newest
 * entries are still in flight), and every 60-200 ms the leader is cut off or loses power for a
 * short while. Leaders then often hold entries of their term that no one else has, and the next
 * leaders overwrite some and re-replicate others: the histories in which committing an earlier
 * term's entry by counting replicas loses it.
 */
export function leaderChurnSchedule(rng: Random, durationMs: number): NemesisSchedule {
  const events: NemesisEvent[] = [{ at: 0, type: 'delay', minMs: 5, maxMs: between(rng, 20, 50) }];
  let t = between(rng, 50, 150);
  while (t < durationMs) {
    const d = between(rng, 60, 250);
    if (rng.chance(0.7)) {
      events.push({ at: t, type: 'partition', shape: 'isolate-leader' });
      events.push({ at: Math.min(t + d, durationMs), type: 'heal' });
    } else {
      events.push({ at: t, type: 'crash', who: 'leader', writes: 'random' });
      events.push({ at: Math.min(t + d, durationMs), type: 'restart' });
    }
    t += d + between(rng, 0, 120);
  }
  events.sort((a, b) => a.at - b.at);
  return { kinds: ['partition', 'crash', 'delay'], durationMs, events };
}

/** One event as text, e.g. `+420ms partition ring`. */
export function describeEvent(e: NemesisEvent): string {
  const { at, type, ...rest } = e as NemesisEvent & Record<string, unknown>;
  const args = Object.entries(rest)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return `+${at}ms ${type}${args === '' ? '' : ` ${args}`}`;
}

/** A schedule as text, one event a line (what a report prints). */
export function formatSchedule(s: NemesisSchedule): string {
  const head = `nemesis ${s.kinds.length === 0 ? '(none)' : s.kinds.join(', ')} over ${s.durationMs} ms, ${s.events.length} events`;
  return [head, ...s.events.map((e) => `  ${describeEvent(e)}`)].join('\n');
}
