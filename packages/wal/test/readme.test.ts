/**
 * The README's example is this package's test/fixtures/readme-example.ts, verbatim: this test
 * checks that the two are the same text and runs the example, so the README cannot rot.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';

const example = new URL('./fixtures/readme-example.ts', import.meta.url).pathname;
const readme = new URL('../README.md', import.meta.url).pathname;

test('the README shows the example file verbatim', () => {
  const code = readFileSync(example, 'utf8');
  const text = readFileSync(readme, 'utf8');
  assert.ok(
    text.includes(`\`\`\`ts\n${code}\`\`\``),
    'README.md must contain test/fixtures/readme-example.ts in a ```ts block',
  );
});

test('the README example runs and prints what the README says', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=@flotilla/source', '--import', 'tsx', example],
    {
      timeout: 60_000,
    },
  );
  assert.equal(
    stdout,
    [
      'in flight: WAL_IO',
      'hard state: { term: 2, vote: 3, commit: 1 }',
      'log: 1@1:x=1 2@2:y=3',
      'first index after compaction: 3',
      '',
    ].join('\n'),
  );
  const text = readFileSync(readme, 'utf8');
  for (const line of stdout.trim().split('\n'))
    assert.ok(text.includes(line), `README shows the output line ${line}`);
});
