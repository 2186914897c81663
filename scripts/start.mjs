#!/usr/bin/env node
// `pnpm start`: the main demo. Runs the first demo that exists, newest layer first:
// the replicated KV cluster (three processes) once `@flotilla/kv` has it, otherwise the
// in-memory three-node Raft lab. Arguments after `--` are passed through (e.g. `--keep`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const candidates = ['packages/kv/src/demo/main.ts', 'examples/raft-lab/src/demo.ts'];
const demo = candidates.map((c) => resolve(root, c)).find((p) => existsSync(p));
if (demo === undefined) {
  console.error(`no demo found (looked for: ${candidates.join(', ')})`);
  process.exit(1);
}
const args = process.argv.slice(2).filter((a) => a !== '--');
const child = spawn(process.execPath, ['--conditions=@flotilla/source', '--import', 'tsx', demo, ...args], {
  cwd: root,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
