#!/usr/bin/env node
// Runs the test suite under c8 and checks the per-package coverage floors:
// raft and mvcc ≥ 90% lines and branches, wal and lease ≥ 90% lines, replica, transport-tcp and kv
// ≥ 85% lines, the verification suite's checkers (test/src) ≥ 85% lines, everything ≥ 80% lines. Prints one row per package and exits non-zero below a floor.
//
//   pnpm coverage                  all tests, all packages
//   pnpm coverage packages/raft    only that package's tests; only its floor is checked
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const FLOORS = {
  raft: { lines: 90, branches: 90 },
  mvcc: { lines: 90, branches: 90 },
  wal: { lines: 90 },
  lease: { lines: 90 },
  replica: { lines: 85 },
  'transport-tcp': { lines: 85 },
  kv: { lines: 85 },
  verification: { lines: 85 },
};
const OVERALL = { lines: 80 };

const args = process.argv.slice(2);
// A whole-repo run writes ./coverage; a scoped run writes a private directory, so several people
// (or agents) measuring different packages at once never mix their raw V8 data.
const reportDir =
  args.length === 0 ? resolve(root, 'coverage') : mkdtempSync(join(tmpdir(), 'flotilla-coverage-'));
const tempDir = join(reportDir, 'tmp');
rmSync(reportDir, { recursive: true, force: true });
const c8 = resolve(root, 'node_modules/.bin/c8');
const run = spawnSync(
  c8,
  [
    '--all',
    '--include',
    'packages/*/src/**/*.ts',
    '--include',
    'test/src/**/*.ts',
    '--exclude',
    '**/*.test.ts',
    '--reporter=text-summary',
    '--reporter=json-summary',
    '--reporter=html',
    '--report-dir',
    reportDir,
    '--temp-directory',
    tempDir,
    process.execPath,
    resolve(root, 'scripts/run-tests.mjs'),
    ...args,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (run.status !== 0) {
  console.error(`tests failed (exit ${run.status}); coverage not checked`);
  process.exit(run.status ?? 1);
}

const summaryPath = resolve(reportDir, 'coverage-summary.json');
if (!existsSync(summaryPath)) {
  console.error('c8 wrote no coverage-summary.json');
  process.exit(1);
}
const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
const perPkg = new Map();
for (const [file, m] of Object.entries(summary)) {
  if (file === 'total') continue;
  const parts = relative(root, file).split(sep);
  // packages/<name>/src/... → <name>; test/src/... → the verification suite.
  const pkg = parts[0] === 'packages' ? parts[1] : parts[0] === 'test' ? 'verification' : undefined;
  if (pkg === undefined) continue;
  const acc = perPkg.get(pkg) ?? { lines: [0, 0], branches: [0, 0] };
  acc.lines[0] += m.lines.covered;
  acc.lines[1] += m.lines.total;
  acc.branches[0] += m.branches.covered;
  acc.branches[1] += m.branches.total;
  perPkg.set(pkg, acc);
}
const pct = ([c, t]) => (t === 0 ? 100 : (100 * c) / t);
const scoped = args.length > 0 ? args.map((a) => relative(root, resolve(a)).split(sep)) : null;
const checked = (pkg) =>
  scoped === null ||
  scoped.some((p) => (p[0] === 'packages' && p[1] === pkg) || (p[0] === 'test' && pkg === 'verification'));

let failed = false;
console.log('\npackage          lines     branches  floor');
for (const [pkg, acc] of [...perPkg].sort()) {
  if (!checked(pkg)) continue;
  const floor = FLOORS[pkg] ?? {};
  const l = pct(acc.lines);
  const b = pct(acc.branches);
  const bad = checked(pkg) && ((floor.lines && l < floor.lines) || (floor.branches && b < floor.branches));
  if (bad) failed = true;
  const floorText = Object.entries(floor)
    .map(([k, v]) => `${k}≥${v}`)
    .join(' ');
  console.log(
    `${pkg.padEnd(16)} ${l.toFixed(1).padStart(6)}%  ${b.toFixed(1).padStart(6)}%   ${floorText}${bad ? '  BELOW FLOOR' : ''}`,
  );
}
const totalLines = pct(
  Object.values(Object.fromEntries(perPkg)).reduce((a, x) => [a[0] + x.lines[0], a[1] + x.lines[1]], [0, 0]),
);
if (scoped === null) {
  console.log(
    `${'overall'.padEnd(16)} ${totalLines.toFixed(1).padStart(6)}%             lines≥${OVERALL.lines}`,
  );
  if (totalLines < OVERALL.lines) failed = true;
}
console.log(`html report: ${join(reportDir, 'index.html')}`);
process.exit(failed ? 1 : 0);
