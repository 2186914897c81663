import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
const tsx = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'cli.mjs');

/** Every `## Example...` section's code block with the output the README shows for it. */
function examples(): Array<{ title: string; code: string; output: string }> {
  const out: Array<{ title: string; code: string; output: string }> = [];
  for (const section of readme.split(/\n(?=## )/)) {
    if (!section.startsWith('## Example')) continue;
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const output = /Output:\n\n```text\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code !== undefined && output !== undefined, `${section.split('\n')[0]} has code and output`);
    out.push({ title: section.split('\n')[0] as string, code, output });
  }
  return out;
}

test('the README has examples', () => {
  assert.ok(examples().length >= 2);
});

for (const { title, code, output } of examples()) {
  test(`README ${title.slice(3)}: runs and prints the output shown`, () => {
    // tsx evaluates TypeScript; run from the package directory so `@flotilla/replica` resolves
    // to this package (self-reference through its `exports`).
    const run = spawnSync(
      process.execPath,
      [tsx, '--conditions=@flotilla/source', '--input-type=module', '-e', code],
      {
        cwd: pkg,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, output);
  });
}
