#!/usr/bin/env node
// Builds every package's `dist/` (what npm consumers import) with tsc, in dependency order.
// Inside the workspace nothing needs a build: packages resolve each other's `src/` through the
// `@flotilla/source` export condition. The build turns that condition off, so each package is
// compiled against its dependencies' emitted declarations, exactly as a consumer would see them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const pkgs = new Map();
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const pj = join(root, 'packages', dir, 'package.json');
  if (!existsSync(pj) || !existsSync(join(root, 'packages', dir, 'src', 'index.ts'))) continue;
  const json = JSON.parse(readFileSync(pj, 'utf8'));
  const deps = Object.keys({ ...json.dependencies, ...json.peerDependencies }).filter((d) =>
    d.startsWith('@flotilla/'),
  );
  pkgs.set(json.name, { dir: join(root, 'packages', dir), deps });
}
const order = [];
const seen = new Set();
const visit = (name) => {
  if (seen.has(name) || !pkgs.has(name)) return;
  seen.add(name);
  for (const d of pkgs.get(name).deps) visit(d);
  order.push(name);
};
for (const name of pkgs.keys()) visit(name);

const tsc = join(root, 'node_modules', '.bin', 'tsc');
for (const name of order) {
  const { dir } = pkgs.get(name);
  const cfg = join(dir, 'tsconfig.build.json');
  writeFileSync(
    cfg,
    `${JSON.stringify(
      {
        extends: '../../tsconfig.base.json',
        compilerOptions: { rootDir: 'src', outDir: 'dist', customConditions: [], noEmit: false },
        include: ['src'],
      },
      null,
      2,
    )}\n`,
  );
  console.log(`build ${name}`);
  const r = spawnSync(tsc, ['-p', cfg], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
