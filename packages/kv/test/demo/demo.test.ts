/**
 * The main demo end to end, as `pnpm start` runs it (scripts/start.mjs): it exits 0, tells its
 * story (leader, linearizable config reads, history replay, SIGKILL failover with nothing
 * acknowledged lost, catch-up, the fencing token refusing a stale holder), and leaves no member
 * process or temp dir behind; with `--keep` the cluster stays up and answers `flotilla status`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FLOTILLA_BIN } from '@flotilla/kv/local-cluster';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

function run(
  file: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [file, ...args], { cwd: root, timeout: timeoutMs }, (e, out, err) => {
      done({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const KEY_LINES = [
  /leader elected: m\d \(term \d+\)/,
  /get config\/ from m\d \(a follower; linearizable by ReadIndex\): 3 keys at revision 5/,
  /replay PUT config\/db\/url = postgres:\/\/db-1:5432\/shop {3}\(revision 2\)/,
  /live {3}PUT config\/feature\/dark-mode = on/,
  /kill -9 m\d \(the leader, pid \d+\)/,
  /new leader: m\d \(term \d+\)/,
  /every one of the \d+ acknowledged writes is there, nothing lost/,
  /m\d caught up in [\d.]+ s/,
  /holds locks\/nightly-report: fencing token \d+/,
  /worker B got the lock .*: fencing token \d+/,
  /storage REFUSES it: token \d+ < \d+/,
  /guarded transaction .* fails as well/,
];

describe('the main demo (pnpm start)', () => {
  test('runs the whole story, exits 0 and cleans up', async () => {
    const r = await run(join(root, 'scripts/start.mjs'), [], 180_000);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    for (const line of KEY_LINES) assert.match(r.out, line);
    assert.match(r.out, /Done in [\d.]+ s: all member processes stopped, temp dir removed\./);
    const dir = /data in (\S+)\)/.exec(r.out)?.[1];
    assert.ok(dir !== undefined && !existsSync(dir), `temp dir ${dir} left behind`);
    for (const m of r.out.matchAll(/pid (\d+)/g))
      assert.equal(alive(Number(m[1])), false, `pid ${m[1]} still runs`);
  });

  test('--keep leaves a working cluster and says how to use and stop it', async () => {
    const r = await run(join(root, 'scripts/start.mjs'), ['--', '--keep'], 180_000);
    const pids = [...r.out.matchAll(/^ {2}m\d: pid (\d+), clients (\S+),/gm)].map((m) => ({
      pid: Number(m[1]),
      ep: m[2] as string,
    }));
    const dir = /rm -rf (\S+)/.exec(r.out)?.[1];
    try {
      assert.equal(r.code, 0, `${r.out}\n${r.err}`);
      assert.equal(pids.length, 3, r.out);
      assert.match(r.out, /Try:\n {2}node .*flotilla\.mjs --endpoints \S+ status/);
      const status = await run(
        FLOTILLA_BIN,
        ['status', '--endpoints', pids.map((p) => p.ep).join(',')],
        60_000,
      );
      assert.equal(status.code, 0, status.err);
      assert.equal(status.out.trim().split('\n').length, 5);
    } finally {
      for (const { pid } of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
});
