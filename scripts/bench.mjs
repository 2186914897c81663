#!/usr/bin/env node
// Runs the benchmarks: every packages/*/bench/*.bench.ts (and test/bench/*.bench.ts), one at a
// time, so they do not compete for the two cores. Benchmarks print their figures; they never
// fail on a timing. Pass paths to run a subset: `pnpm bench packages/raft`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const dirs = [];
for (const group of ['packages', 'examples']) {
  const g = join(root, group);
  if (!existsSync(g)) continue;
  for (const p of readdirSync(g).sort()) dirs.push(join(g, p, 'bench'));
}
dirs.push(join(root, 'test', 'bench'));

const scopes = process.argv.slice(2).map((a) => resolve(a));
const files = [];
for (const d of dirs) {
  if (!existsSync(d)) continue;
  for (const f of readdirSync(d).sort()) {
    const path = join(d, f);
    if (!f.endsWith('.bench.ts')) continue;
    if (scopes.length > 0 && !scopes.some((s) => path.startsWith(s))) continue;
    files.push(path);
  }
}
if (files.length === 0) {
  console.error('no *.bench.ts files found');
  process.exit(1);
}
let status = 0;
for (const f of files) {
  console.log(`\n=== ${relative(root, f)} ===`);
  const r = spawnSync(
    process.execPath,
    ['--conditions=@flotilla/source', '--expose-gc', '--import', 'tsx', f],
    { cwd: root, stdio: 'inherit' },
  );
  if (r.status !== 0) status = 1;
}
process.exit(status);
