/**
 * The real mode's report pieces that need no cluster: throughput/latency buckets from a
 * history, fault windows from a schedule, and the self-contained `chart.html`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HistoryRecorder } from '../src/history/recorder.js';
import type { NemesisSchedule } from '../src/nemesis/schedule.js';
import { renderChart, writeChart } from '../src/real/chart.js';
import { planRealRun } from '../src/real/plan.js';
import { faultWindows, throughputOf, timelineOf } from '../src/real/timeline.js';

const MS = 1e6;

/** A history with ops completing at known times and latencies. */
function history() {
  let now = 0;
  const rec = new HistoryRecorder({ clock: () => now });
  const op = (process: number, at: number, latencyMs: number, type: 'ok' | 'fail' | 'info'): void => {
    now = at * MS;
    const h = rec.invoke(process, 'read', ['k', null]);
    now = (at + latencyMs) * MS;
    if (type === 'ok') h.ok(['k', null]);
    else if (type === 'fail') h.fail();
    else h.info();
  };
  op(0, 0, 10, 'ok'); // completes at 10 ms: bucket 0
  op(1, 100, 30, 'ok'); // 130 ms: bucket 0
  op(0, 200, 5, 'fail'); // 205 ms: bucket 0
  op(2, 900, 200, 'ok'); // 1100 ms: bucket 1
  op(3, 1200, 10, 'info'); // 1210 ms: bucket 1
  return rec.events;
}

test('timelineOf buckets completions by time, with latency quantiles of the ok ones', () => {
  const t = timelineOf(history(), 1000);
  assert.equal(t.length, 2);
  assert.deepEqual(t[0], { t: 0, okPerS: 2, failPerS: 1, infoPerS: 0, p50Ms: 10, p99Ms: 30, maxMs: 30 });
  assert.deepEqual(t[1], { t: 1, okPerS: 1, failPerS: 0, infoPerS: 1, p50Ms: 200, p99Ms: 200, maxMs: 200 });
  const half = timelineOf(history(), 500);
  assert.equal(half[0]?.okPerS, 4, 'rates are per second whatever the bucket width');
  assert.equal(half[1]?.p50Ms, null, 'a bucket without ok completions has no latency');
});

test('throughputOf counts ok operations of the load phase per second', () => {
  const t = throughputOf(history(), 2000);
  assert.equal(t.okPerS, 1.5);
  assert.equal(t.p50Ms, 30);
  assert.equal(t.p99Ms, 200);
});

test('faultWindows pairs each family start with its recovery', () => {
  const schedule: NemesisSchedule = {
    kinds: ['partition', 'crash', 'loss', 'client-pause', 'pause'],
    durationMs: 10_000,
    events: [
      { at: 1000, type: 'partition', shape: 'halves' },
      { at: 1500, type: 'crash', who: 'one', writes: 'random' },
      { at: 2000, type: 'partition', shape: 'ring' },
      { at: 2500, type: 'restart' },
      { at: 3000, type: 'heal' },
      { at: 4000, type: 'loss', rate: 0.2 },
      { at: 4500, type: 'loss', rate: 0 },
      { at: 5000, type: 'pause-client', ms: 800 },
      { at: 9000, type: 'pause', who: 'leader' },
    ],
  };
  assert.deepEqual(
    faultWindows(schedule).map((w) => [w.family, w.from, w.to]),
    [
      ['partition', 1, 3],
      ['crash', 1.5, 2.5],
      ['loss', 4, 4.5],
      ['client-pause', 5, 5.8],
      ['pause', 9, 10],
    ],
  );
});

test('the chart is one self-contained page holding uPlot, the data and the fault windows', () => {
  const spec = planRealRun('register', 3, { seconds: 10, nemeses: ['partition', 'crash'] });
  const windows = faultWindows(spec.schedule);
  assert.ok(windows.length > 0, 'the plan has faults to shade');
  const html = renderChart({
    title: 'real-register-3',
    notes: ['seed 3', 'replay: <pnpm jepsen>'],
    timeline: timelineOf(history(), 1000),
    windows,
    loadEndS: 10,
  });
  assert.match(html, /^<!doctype html>/);
  assert.ok(html.includes('github.com/leeoniya/uPlot (v1.6.32)'), 'the library is inlined');
  assert.ok(html.includes('var uPlot='), "the library's code, not a link to it");
  assert.ok(html.includes('.uplot'), 'its stylesheet is inlined');
  assert.ok(!/<script[^>]+src=/.test(html) && !/<link[^>]+href=/.test(html), 'nothing is fetched');
  assert.ok(html.includes('"ok":[2,1]') && html.includes('"p50":[10,200]'), 'the series are embedded');
  assert.ok(html.includes(`"family":"${windows[0]?.family}"`), 'the fault windows are embedded');
  assert.ok(html.includes('&lt;pnpm jepsen&gt;'), 'notes are escaped');
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-chart-'));
  try {
    writeChart(join(dir, 'chart.html'), { title: 't', notes: [], timeline: [], windows: [], loadEndS: 1 });
    assert.ok(readFileSync(join(dir, 'chart.html'), 'utf8').includes('var uPlot='));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real-mode plans stretch the simulation schedule and never schedule transfers or disk faults', () => {
  const spec = planRealRun('register', 5, { seconds: 30 });
  assert.equal(spec.loadMs, 30_000);
  assert.ok(spec.schedule.events.every((e) => e.at <= 30_000));
  assert.ok(spec.schedule.events.every((e) => e.type !== 'transfer' && e.type !== 'disk'));
  assert.ok(spec.schedule.events.length > 10, 'a 30 s run gets many faults');
  assert.deepEqual(planRealRun('register', 5, { seconds: 30 }), spec, 'the plan is a function of the seed');
  assert.equal(spec.replay, 'pnpm jepsen --workload register --seed 5 --seconds 30');
  const none = planRealRun('lock', 5, { seconds: 30, nemeses: [], members: 5 });
  assert.equal(none.schedule.events.length, 0);
  assert.equal(none.founders.length, 5);
  assert.equal(none.replay, 'pnpm jepsen --workload lock --seed 5 --seconds 30 --members 5 --nemesis none');
});
