/**
 * The summary tables `pnpm soak` (and, later, `pnpm jepsen`) end with: one row per run, or one
 * row per workload aggregating many runs. Rows are plain data so other modes can fill them
 * (the real-process mode adds throughput and latency columns through `extra`).
 */
import type { Validity } from '../checkers/result.js';
import type { CheckerName } from '../workloads/types.js';

/** One run, as the tables show it. */
export interface SummaryRow {
  readonly runId: string;
  readonly workload: string;
  /** The fault families the nemesis used (`none` when it did nothing). */
  readonly nemeses: readonly string[];
  readonly ops: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly verdicts: readonly {
    readonly checker: CheckerName;
    readonly valid: Validity;
    readonly summary: string;
  }[];
  readonly valid: Validity;
  /** Extra columns (name → text), e.g. `ops/s`, `p99 ms` in real mode. */
  readonly extra?: Readonly<Record<string, string>>;
}

function mark(v: Validity): string {
  return v === true ? 'ok' : v === false ? 'FAIL' : 'unknown';
}

/** Renders `rows` (first row = header) as an aligned text table. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const [head, ...body] = rows;
  if (head === undefined) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** One line per run: workload, nemeses, ops, ok/fail/info, each checker's verdict. */
export function formatRunTable(rows: readonly SummaryRow[]): string {
  const extras = [...new Set(rows.flatMap((r) => Object.keys(r.extra ?? {})))];
  const table: string[][] = [['run', 'workload', 'nemeses', 'ops', 'ok/fail/info', 'verdicts', ...extras]];
  for (const r of rows) {
    table.push([
      r.runId,
      r.workload,
      r.nemeses.length === 0 ? 'none' : r.nemeses.join(','),
      String(r.ops),
      `${r.ok}/${r.fail}/${r.info}`,
      r.verdicts
        .map((v) => `${v.checker}:${v.valid === true ? 'ok' : `${mark(v.valid)}(${v.summary})`}`)
        .join(' '),
      ...extras.map((e) => r.extra?.[e] ?? ''),
    ]);
  }
  return textTable(table);
}

/**
 * One line per workload over many runs: runs, the nemeses used, total ops and ok/fail/info, and
 * per checker how many runs it passed (`linearizability 40/40`), failed or left unknown.
 */
export function formatAggregateTable(rows: readonly SummaryRow[]): string {
  const byWorkload = new Map<string, SummaryRow[]>();
  for (const r of rows) byWorkload.set(r.workload, [...(byWorkload.get(r.workload) ?? []), r]);
  const table: string[][] = [
    ['workload', 'runs', 'nemeses', 'ops', 'ok/fail/info', 'checker verdicts (passed/runs)'],
  ];
  for (const [workload, rs] of byWorkload) {
    const nemeses = [...new Set(rs.flatMap((r) => r.nemeses))].sort();
    const sum = (f: (r: SummaryRow) => number): number => rs.reduce((n, r) => n + f(r), 0);
    const checkers = new Map<string, { passed: number; failed: number; unknown: number }>();
    for (const r of rs) {
      for (const v of r.verdicts) {
        const c = checkers.get(v.checker) ?? { passed: 0, failed: 0, unknown: 0 };
        if (v.valid === true) c.passed++;
        else if (v.valid === false) c.failed++;
        else c.unknown++;
        checkers.set(v.checker, c);
      }
    }
    const verdicts = [...checkers]
      .map(
        ([name, c]) =>
          `${name} ${c.passed}/${c.passed + c.failed + c.unknown}${c.failed > 0 ? ` (${c.failed} FAIL)` : ''}${c.unknown > 0 ? ` (${c.unknown} unknown)` : ''}`,
      )
      .join(', ');
    table.push([
      workload,
      String(rs.length),
      nemeses.length === 0 ? 'none' : nemeses.join(','),
      String(sum((r) => r.ops)),
      `${sum((r) => r.ok)}/${sum((r) => r.fail)}/${sum((r) => r.info)}`,
      verdicts,
    ]);
  }
  return textTable(table);
}
