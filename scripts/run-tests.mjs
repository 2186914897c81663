#!/usr/bin/env node
// Runs the whole test suite (or the part under the paths given as arguments) with Node's
// built-in test runner, TypeScript through tsx, and workspace packages resolved from source.
//
//   pnpm test                      every *.test.ts in packages/*/test, test/ and examples/*/test
//   pnpm test packages/raft        only the files under that path (several paths or files allowed)
//
// Test files are collected here rather than by a shell glob because Node 20's `--test` does not
// expand quoted globs and an unmatched shell glob is passed through literally.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const SKIP = new Set(['node_modules', 'dist', 'coverage', 'out', '.git']);

function collect(dir, out) {
  if (dir.endsWith('.test.ts')) {
    // A single test file given on the command line.
    out.push(dir);
    return out;
  }
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function isTestDir(path) {
  // Only tests beside a package (packages/<p>/test, examples/<e>/test) and the cross-package suite (test/).
  const rel = relative(root, path).split(/[\\/]/);
  if (rel[0] === 'test') return true;
  return (rel[0] === 'packages' || rel[0] === 'examples') && rel[2] === 'test';
}

const args = process.argv.slice(2);
const scopes = args.length > 0 ? args.map((a) => resolve(a)) : [root];
const files = [];
for (const scope of scopes) {
  for (const f of collect(scope, [])) if (isTestDir(f) && !files.includes(f)) files.push(f);
}
if (files.length === 0) {
  console.error(`no *.test.ts files under ${args.join(' ') || 'the repository'}`);
  process.exit(1);
}

const nodeArgs = [
  '--conditions=@flotilla/source',
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  ...files.map((f) => relative(root, f)),
];
const child = spawn(process.execPath, nodeArgs, { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
