/**
 * Runs every scenario file in this directory (`*.txt`) as one test case: each block's command
 * runs against a fresh interaction environment and its output must equal the expected text.
 *
 * After a deliberate behaviour change, regenerate the expectations in place and review the diff:
 *
 *   REWRITE=1 node --conditions=@flotilla/source --import tsx --test packages/raft/test/scenarios/scenarios.test.ts
 *
 * (or run this file directly with `--rewrite`). `SCENARIO=<name>` runs only the files whose name
 * contains it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rewriteScenario } from '../harness/datadriven.js';
import { runScenario } from '../harness/run.js';

const dir = dirname(fileURLToPath(import.meta.url));
const rewrite = process.env.REWRITE === '1' || process.argv.includes('--rewrite');
const only = process.env.SCENARIO;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt') && (only === undefined || f.includes(only)))
  .sort();

if (only === undefined) {
  test('there are at least 30 scenario files', () => {
    assert.ok(files.length >= 30, `only ${files.length} scenario files`);
  });
}

for (const f of files) {
  test(f, () => {
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^#/, `${f} must start with a comment saying what it shows`);
    const { blocks, outputs } = runScenario(text, f);
    if (rewrite) {
      writeFileSync(path, rewriteScenario(text, blocks, outputs));
      return;
    }
    blocks.forEach((b, k) => {
      const actual = (outputs[k] ?? []).join('\n');
      assert.equal(
        actual,
        b.expected.join('\n'),
        `${f}:${b.line}: output of '${b.command}' differs (REWRITE=1 regenerates; review the diff)`,
      );
    });
  });
}
