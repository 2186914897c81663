import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const here = (p: string): URL => new URL(p, import.meta.url);

test('the README example is examples/readme-example.ts, and it runs with the output shown', async () => {
  const readme = readFileSync(here('../README.md'), 'utf8');
  const example = readFileSync(here('../examples/readme-example.ts'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.equal(block, example, 'README.md and examples/readme-example.ts have drifted apart');

  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args.join(' '));
  };
  try {
    await import('../examples/readme-example.js');
  } finally {
    console.log = log;
  }
  const shown = /Output:\n\n```text\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.equal(`${lines.join('\n')}\n`, shown, 'the output printed in the README');
});
