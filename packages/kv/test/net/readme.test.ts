/** The README's network example runs and prints the output the README shows. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the README network example runs and prints the output the README shows', () => {
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Network server and client'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  const output = /```text\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code !== undefined && output !== undefined, 'README has a network example and its output');
  const tsx = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'cli.mjs');
  const run = spawnSync(
    process.execPath,
    [tsx, '--conditions=@flotilla/source', '--input-type=module', '-e', code],
    {
      cwd: pkg,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, output);
});
