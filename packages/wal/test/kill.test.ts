/**
 * A real disk and a real kill -9: a child process writes entries to a WAL in a temp directory
 * and reports each acknowledged save on stdout; the parent SIGKILLs it mid-stream, recovers the
 * directory, and checks that every acknowledged entry is there, intact, and that whatever else
 * is there was really written. Three rounds on the same directory (each child continues the log
 * of the previous one, with a higher term).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { seededRandom } from '@flotilla/raft';
import { openReplicaStorage } from '@flotilla/wal';
import { assertRaftAcceptable } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'flotilla-wal-kill-'));
after(() => rmSync(root, { recursive: true, force: true }));
const writer = new URL('./fixtures/kill-writer.ts', import.meta.url).pathname;

/** Runs the writer until it has acknowledged `target` more entries, then SIGKILLs it. */
function runAndKill(dir: string, term: number, target: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@flotilla/source', '--import', 'tsx', writer, dir, String(term)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let acked = 0;
    let seen = 0;
    let partial = '';
    let stderr = '';
    let killed = false;
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer acknowledged only ${seen} entries in 30 s: ${stderr}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const index = Number(line.replace(/^ack /, ''));
        if (!(index > acked)) reject(new Error(`acks out of order: ${index} after ${acked}`));
        acked = index;
        seen++;
      }
      if (seen >= target && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timeout);
      if (signal !== 'SIGKILL') reject(new Error(`the writer exited on its own (${signal}): ${stderr}`));
      // Only now is the child reaped: its lock is stale and recovery may take the directory.
      else resolve(acked);
    });
  });
}

test('entries acknowledged before a SIGKILL are all recovered from a real disk', {
  timeout: 120_000,
}, async () => {
  const dir = join(root, 'wal');
  // The seed picks when to kill (replay with WAL_KILL_SEED; the kill lands wherever the child is).
  const seed = Number(process.env.WAL_KILL_SEED ?? Date.now() % 100_000);
  const rng = seededRandom(seed);
  let lastAcked = 0;
  for (let term = 1; term <= 3; term++) {
    const acked = await runAndKill(dir, term, rng.int(200, 1500));
    const context = `seed ${seed}, round ${term}`;
    assert.ok(acked > lastAcked, `${context}: the writer made progress`);
    lastAcked = acked;
    const rs = await openReplicaStorage(dir, { segmentBytes: 64 * 1024 });
    const st = rs.storage;
    assert.ok(
      st.lastIndex() >= acked,
      `${context}: recovered up to ${st.lastIndex()}, acknowledged ${acked}`,
    );
    assertRaftAcceptable(rs, context);
    // Every entry above the snapshot is intact (the ones after `acked` were written, perhaps
    // not acknowledged: they must still be exactly what was written).
    for (const e of st.entries(st.firstIndex(), st.lastIndex() + 1)) {
      assert.equal(
        new TextDecoder().decode(e.data),
        `entry-${e.index}-`.padEnd(100, '.'),
        `${context}: entry ${e.index}`,
      );
    }
    assert.ok(rs.hardState.term === term || rs.hardState.term === term - 1);
    await rs.close();
  }
});
