/**
 * `chart.html`: a run's throughput and latency over time, with the fault windows shaded, as one
 * self-contained HTML file (it works offline: uPlot's minified build and stylesheet are read
 * from `node_modules` and inlined, the data is embedded as JSON).
 *
 * uPlot (MIT, github.com/leeoniya/uPlot) draws time series on a canvas; it is ~50 KB minified
 * with no dependencies, which keeps each run's chart small. The shading is drawn in its
 * `drawClear` hook (under the series), one colour per fault family.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FaultWindow, TimelinePoint } from './timeline.js';

/** What a chart shows. */
export interface ChartInput {
  readonly title: string;
  /** Lines under the title (seed, verdicts, replay command). */
  readonly notes: readonly string[];
  readonly timeline: readonly TimelinePoint[];
  readonly windows: readonly FaultWindow[];
  /** End of the load phase (s), marked on the charts. */
  readonly loadEndS: number;
}

const require = createRequire(import.meta.url);

/** The library's code and stylesheet (read once). */
let library: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  library ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return library;
}

/** Fault family → shading colour. */
export const FAMILY_COLOURS: Readonly<Record<string, string>> = {
  partition: 'rgba(230, 80, 60, 0.25)',
  loss: 'rgba(240, 160, 40, 0.25)',
  duplicate: 'rgba(200, 200, 40, 0.25)',
  delay: 'rgba(160, 120, 60, 0.22)',
  crash: 'rgba(150, 40, 180, 0.25)',
  pause: 'rgba(40, 120, 220, 0.25)',
  clock: 'rgba(40, 170, 150, 0.25)',
  membership: 'rgba(100, 100, 100, 0.22)',
  'client-pause': 'rgba(220, 60, 160, 0.22)',
};

/** JSON safe to embed in a script element. */
function embed(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string,
  );
}

/** The chart page (see the module notes). */
export function renderChart(input: ChartInput): string {
  const { js, css } = uplot();
  const t = input.timeline;
  const data = {
    x: t.map((p) => p.t),
    ok: t.map((p) => p.okPerS),
    fail: t.map((p) => p.failPerS),
    info: t.map((p) => p.infoPerS),
    p50: t.map((p) => p.p50Ms),
    p99: t.map((p) => p.p99Ms),
    max: t.map((p) => p.maxMs),
    windows: input.windows,
    colours: FAMILY_COLOURS,
    loadEnd: input.loadEndS,
  };
  // Lanes top to bottom in order of first appearance (the page script does the same).
  const families = [...new Set(input.windows.map((w) => w.family))];
  const legend = families
    .map(
      (f) =>
        `<span class="key"><span class="swatch" style="background:${FAMILY_COLOURS[f] ?? 'rgba(0,0,0,0.1)'}"></span>${escapeHtml(f)}</span>`,
    )
    .join(' ');
  const windows = input.windows
    .map(
      (w) =>
        `<tr><td>${w.from.toFixed(2)}</td><td>${w.to.toFixed(2)}</td><td>${escapeHtml(w.family)}</td><td>${escapeHtml(w.label)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(input.title)}</title>
<style>${css}</style>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin-bottom: 0.2em; }
.notes { font-family: ui-monospace, monospace; font-size: 0.85em; white-space: pre-wrap; color: #444; }
.key { margin-right: 1em; font-size: 0.9em; }
.swatch { display: inline-block; width: 1.2em; height: 0.9em; margin-right: 0.3em; vertical-align: middle; border: 1px solid #999; }
table { border-collapse: collapse; font-size: 0.85em; margin-top: 1em; }
td, th { padding: 0.1em 0.8em; border-bottom: 1px solid #eee; text-align: left; }
</style>
</head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<div class="notes">${input.notes.map(escapeHtml).join('\n')}</div>
<p>Fault windows, one lane per family from the top: ${legend || 'none'}. The dashed line ends the load phase (then: heal, final operations).</p>
<div id="throughput"></div>
<div id="latency"></div>
<details><summary>Fault windows (s since the load started)</summary>
<table><tr><th>from</th><th>to</th><th>family</th><th>event</th></tr>
${windows}
</table></details>
<script>${js}</script>
<script>
const DATA = ${embed(data)};
// Each fault family shades its own horizontal lane, so overlapping faults stay readable.
const FAMILIES = [...new Set(DATA.windows.map((w) => w.family))];
function shade(u) {
  const ctx = u.ctx;
  const top = u.bbox.top, height = u.bbox.height;
  const lane = height / Math.max(1, FAMILIES.length);
  ctx.save();
  for (const w of DATA.windows) {
    const x0 = u.valToPos(w.from, 'x', true), x1 = u.valToPos(w.to, 'x', true);
    ctx.fillStyle = DATA.colours[w.family] || 'rgba(0,0,0,0.08)';
    ctx.fillRect(x0, top + FAMILIES.indexOf(w.family) * lane, Math.max(1, x1 - x0), lane);
  }
  const xe = u.valToPos(DATA.loadEnd, 'x', true);
  ctx.strokeStyle = '#888';
  ctx.setLineDash([4, 4]);
  ctx.beginPath(); ctx.moveTo(xe, top); ctx.lineTo(xe, top + height); ctx.stroke();
  ctx.restore();
}
const width = Math.max(600, Math.min(1400, window.innerWidth - 60));
const sync = uPlot.sync('flotilla');
const common = (title, yLabel) => ({
  title, width, height: 300,
  scales: { x: { time: false } },
  axes: [{ label: 'seconds since the load started' }, { label: yLabel }],
  cursor: { sync: { key: sync.key } },
  hooks: { drawClear: [shade] },
});
new uPlot({ ...common('Completed operations per second', 'ops/s'), series: [
  {}, { label: 'ok/s', stroke: '#2a7' }, { label: 'fail/s', stroke: '#d62' }, { label: 'info/s', stroke: '#a3c' },
] }, [DATA.x, DATA.ok, DATA.fail, DATA.info], document.getElementById('throughput'));
new uPlot({ ...common('Latency of ok operations (ms)', 'ms'), series: [
  {}, { label: 'p50', stroke: '#27c' }, { label: 'p99', stroke: '#c72' }, { label: 'max', stroke: '#999', dash: [3, 3] },
] }, [DATA.x, DATA.p50, DATA.p99, DATA.max], document.getElementById('latency'));
</script>
</body>
</html>
`;
}

/** Writes {@link renderChart}'s page to `path`. */
export function writeChart(path: string, input: ChartInput): void {
  writeFileSync(path, renderChart(input));
}
