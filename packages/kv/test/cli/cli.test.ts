/**
 * The real `flotilla` binary (bin/flotilla.mjs) against a real three-member cluster of
 * `flotilla member` processes on 127.0.0.1 (ephemeral ports, a temp dir): every client command
 * in simple and JSON output, exit codes, `--help`, long-running commands stopped by a signal,
 * and the members' clean stop on SIGTERM. Every process is bounded by a timeout and everything
 * is removed at the end, also on failure.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FLOTILLA_BIN, LocalCluster } from '@flotilla/kv/local-cluster';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let cluster: LocalCluster;
let scratch: string;

/** Runs `flotilla ARGS` against the cluster (unless `raw`), with `input` on stdin. */
function flotilla(args: readonly string[], o: { input?: string; raw?: boolean } = {}): Promise<Run> {
  // --endpoints first: after a `--`, everything belongs to the command run under a lock.
  const full = o.raw === true ? [...args] : ['--endpoints', cluster.endpoints.join(','), ...args];
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [FLOTILLA_BIN, ...full],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(o.input ?? '');
  });
}

/**
 * Starts a long-running `flotilla ARGS`; `lines(n, ms)` waits up to `ms` (default 30 s) for n
 * stdout lines; `stop()` sends SIGTERM.
 */
function background(args: readonly string[]): {
  lines: (n: number, ms?: number) => Promise<string[]>;
  stop: () => Promise<number>;
} {
  const child: ChildProcess = spawn(
    process.execPath,
    [FLOTILLA_BIN, '--endpoints', cluster.endpoints.join(','), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return {
    async lines(n, ms = 30_000) {
      const end = Date.now() + ms;
      while (out.split('\n').filter((l) => l !== '').length < n) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`expected ${n} lines, got: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return out.split('\n').filter((l) => l !== '');
    },
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}

describe('flotilla CLI against a 3-member cluster', () => {
  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'flotilla-cli-test-'));
    cluster = await LocalCluster.start({ size: 3, clusterId: 'cli-test', metrics: true, logLevel: 'warn' });
    await cluster.waitForLeader();
  });
  after(async () => {
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('put, get, del in simple and JSON output', async () => {
    assert.deepEqual(await flotilla(['put', 'cfg/a', 'alpha']), { code: 0, stdout: 'OK\n', stderr: '' });
    assert.equal((await flotilla(['put', 'cfg/b', 'beta gamma'])).code, 0);
    assert.equal((await flotilla(['put', 'cfg/c'], { input: 'from stdin\n' })).code, 0);
    assert.equal((await flotilla(['get', 'cfg/a'])).stdout, 'cfg/a\nalpha\n');
    assert.equal(
      (await flotilla(['get', 'cfg/', '--prefix', '--print-value-only'])).stdout,
      'alpha\nbeta gamma\nfrom stdin\n',
    );
    assert.equal(
      (await flotilla(['get', 'cfg/', '--prefix', '--count-only', '--serializable'])).stdout,
      '3\n',
    );
    assert.equal((await flotilla(['get', 'cfg/a', 'cfg/c', '--keys-only'])).stdout, 'cfg/a\ncfg/b\n');
    const json = JSON.parse((await flotilla(['get', 'cfg/b', '-w', 'json'])).stdout) as {
      kvs: { key: string; value: string; version: number }[];
      header: { revision: number; memberId: number };
    };
    assert.equal(Buffer.from(json.kvs[0]?.key ?? '', 'base64').toString(), 'cfg/b');
    assert.equal(Buffer.from(json.kvs[0]?.value ?? '', 'base64').toString(), 'beta gamma');
    assert.ok(json.header.revision >= 4);
    const prev = await flotilla(['put', 'cfg/a', 'alpha2', '--prev-kv']);
    assert.equal(prev.stdout, 'OK\ncfg/a\nalpha\n');
    assert.equal((await flotilla(['del', 'cfg/', '--prefix'])).stdout, '3\n');
    assert.equal((await flotilla(['get', 'cfg/a'])).stdout, '');
  });

  test('errors exit 1 with one line naming the code', async () => {
    const bad = await flotilla(['get', 'x', '--no-such-flag']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error: INVALID_ARGUMENT: .*\n$/);
    const unknown = await flotilla(['frobnicate'], { raw: true });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^Error: INVALID_ARGUMENT: unknown command/);
    const empty = await flotilla(['put', '', 'v']);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^Error: EMPTY_KEY: /);
    const down = await flotilla(['get', 'x', '--endpoints', '127.0.0.1:1', '--dial-timeout', '200ms'], {
      raw: true,
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^Error: UNAVAILABLE: /);
    const member = await flotilla(['member', '--id', '1'], { raw: true });
    assert.equal(member.code, 1);
    assert.match(member.stderr, /^Error: INVALID_ARGUMENT: member needs/);
    assert.equal(bad.stderr.split('\n').length, 2);
  });

  test('--help everywhere', async () => {
    const top = await flotilla(['--help'], { raw: true });
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Usage: flotilla COMMAND/);
    for (const args of [
      ['put', '--help'],
      ['lease', 'grant', '-h'],
      ['help', 'watch'],
      ['member', '--help'],
      ['lease', '--help'],
    ]) {
      const r = await flotilla(args, { raw: true });
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /Usage: flotilla/, args.join(' '));
    }
    assert.match((await flotilla(['--version'], { raw: true })).stdout, /^flotilla \d+\.\d+\.\d+\n$/);
    const group = await flotilla(['lease'], { raw: true });
    assert.equal(group.code, 1);
    assert.match(group.stderr, /needs a subcommand/);
  });

  test('txn from stdin, compact, watch replaying history', async () => {
    const first = JSON.parse((await flotilla(['put', 'tx/k', 'v1', '-w', 'json'])).stdout) as {
      header: { revision: number };
    };
    const txn = await flotilla(['txn'], {
      input: 'val("tx/k") = "v1"\n\nput tx/k "v2 with spaces"\nget tx/k\n\nput tx/k lost\n',
    });
    assert.equal(txn.code, 0, txn.stderr);
    assert.equal(txn.stdout, 'SUCCESS\n\nOK\n\ntx/k\nv2 with spaces\n');
    const failed = await flotilla(['txn', '-w', 'json'], {
      input: 'ver("tx/k") = "9"\n\nput tx/k no\n\nget tx/k\n',
    });
    assert.equal((JSON.parse(failed.stdout) as { succeeded: boolean }).succeeded, false);
    const watch = await flotilla([
      'watch',
      'tx/',
      '--prefix',
      '--rev',
      String(first.header.revision),
      '--max-events',
      '2',
    ]);
    assert.equal(watch.stdout, 'PUT\ntx/k\nv1\nPUT\ntx/k\nv2 with spaces\n');
    const compact = await flotilla(['compact', String(first.header.revision + 1)]);
    assert.equal(compact.stdout, `compacted revision ${first.header.revision + 1}\n`);
    const old = await flotilla(['get', 'tx/k', '--rev', String(first.header.revision)]);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /^Error: COMPACTED: /);
  });

  test('a live watch prints changes until interrupted', async () => {
    const w = background(['watch', 'live/', '--prefix']);
    // The watch only sees changes after it is established, which takes the process a while to
    // start and connect (longer on a loaded machine): put again until the first event shows up,
    // looking for it briefly after each put.
    const putter = (async () => {
      for (let i = 0; i < 50; i++) {
        await flotilla(['put', 'live/x', `v${i}`]);
        try {
          await w.lines(1, 500);
          return;
        } catch {
          // not yet
        }
      }
    })();
    const lines = await w.lines(3);
    await putter;
    assert.deepEqual(lines.slice(0, 2), ['PUT', 'live/x']);
    assert.equal(await w.stop(), 0);
  });

  test('leases: grant, attach, ttl, keep-alive, list, revoke', async () => {
    const grant = await flotilla(['lease', 'grant', '30']);
    const m = /^lease (\d+) granted with TTL\(30s\)\n$/.exec(grant.stdout);
    assert.ok(m, grant.stdout);
    const id = m[1] as string;
    assert.equal((await flotilla(['put', 'leased', 'v', '--lease', id])).code, 0);
    assert.match(
      (await flotilla(['lease', 'ttl', id, '--keys'])).stdout,
      new RegExp(
        `^lease ${id} granted with TTL\\(30s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased\\]\\)\n$`,
      ),
    );
    assert.equal(
      (await flotilla(['lease', 'keep-alive', id, '--once'])).stdout,
      `lease ${id} keepalived with TTL(30)\n`,
    );
    const ka = background(['lease', 'keep-alive', id]);
    assert.match((await ka.lines(1))[0] ?? '', new RegExp(`^lease ${id} keepalived`));
    assert.equal(await ka.stop(), 0);
    assert.match((await flotilla(['lease', 'list'])).stdout, new RegExp(`found \\d+ leases\n(.*\n)*${id}\n`));
    assert.equal((await flotilla(['lease', 'revoke', id])).stdout, `lease ${id} revoked\n`);
    assert.equal((await flotilla(['get', 'leased'])).stdout, '');
    assert.equal((await flotilla(['lease', 'ttl', id])).stdout, `lease ${id} already expired\n`);
  });

  test('lock runs a command with the fencing token; elect campaigns and observes', async () => {
    const r = await flotilla([
      'lock',
      'jobs/report',
      '--ttl',
      '5',
      '--',
      process.execPath,
      '-e',
      'console.log("token=" + process.env.FLOTILLA_FENCING_TOKEN); process.exit(3)',
    ]);
    assert.equal(r.code, 3, r.stderr);
    const [key, token, printed] = r.stdout.split('\n');
    assert.match(key ?? '', /^jobs\/report\/\d+$/);
    const t = /^fencing token (\d+)$/.exec(token ?? '')?.[1];
    assert.equal(printed, `token=${t}`);
    const held = background(['lock', 'jobs/held', '--ttl', '5', '-w', 'json']);
    const [line] = await held.lines(1);
    assert.ok((JSON.parse(line ?? '{}') as { fencingToken: number }).fencingToken > Number(t));
    assert.equal(await held.stop(), 0);

    const leader = background(['elect', 'svc/primary', 'node-a', '--ttl', '5']);
    const [ekey, value] = await leader.lines(2);
    assert.match(ekey ?? '', /^svc\/primary\/\d+$/);
    assert.equal(value, 'node-a');
    const observer = background(['elect', 'svc/primary', '--listen']);
    assert.deepEqual((await observer.lines(2)).slice(1, 2), ['node-a']);
    assert.equal(await leader.stop(), 0);
    assert.equal(await observer.stop(), 0);
  });

  test('member list/add/promote/remove, status, snapshot save', async () => {
    const list = await flotilla(['member', 'list']);
    assert.equal(list.stdout.trim().split('\n').length, 3);
    assert.match(list.stdout, /^1, started, m1, 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+, false$/m);
    const json = JSON.parse((await flotilla(['member', 'list', '-w', 'json'])).stdout) as {
      members: { id: number }[];
    };
    assert.deepEqual(
      json.members.map((x) => x.id),
      [1, 2, 3],
    );
    const add = await flotilla([
      'member',
      'add',
      'm9',
      '--peer-urls',
      '127.0.0.1:1',
      '--learner',
      '--id',
      '9',
    ]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^Member 9 added to cluster as a learner\n/);
    // Through the leader, which knows the learner's progress (it never started: far behind).
    const leader = await cluster.waitForLeader();
    const promote = await flotilla(
      ['member', 'promote', '9', '--endpoints', cluster.member(leader.id).client],
      { raw: true },
    );
    assert.equal(promote.code, 1);
    assert.match(promote.stderr, /^Error: LEARNER_NOT_READY: /);
    assert.equal((await flotilla(['member', 'remove', '9'])).stdout, 'Member 9 removed from cluster\n');
    const missing = await flotilla(['member', 'remove', '9']);
    assert.match(missing.stderr, /^Error: MEMBER_NOT_FOUND: /);

    const status = await flotilla(['status']);
    assert.equal(status.code, 0, status.stderr);
    const rows = status.stdout.trim().split('\n');
    assert.equal(rows.length, 5);
    assert.equal(rows.filter((l) => / true /.test(l)).length, 1);
    const sj = JSON.parse((await flotilla(['status', '-w', 'json'])).stdout) as { leader: number }[];
    assert.equal(new Set(sj.map((s) => s.leader)).size, 1);

    const file = join(scratch, 'snap.bin');
    const snap = await flotilla(['snapshot', 'save', file]);
    assert.match(snap.stdout, /^Snapshot saved at .* \(\d+ bytes, revision \d+, from member \d\)\n$/);
    assert.ok(existsSync(file) && statSync(file).size > 0);
  });

  test('members stop cleanly on SIGTERM (exit 0) and come back with their data', async () => {
    await flotilla(['put', 'durable', 'yes']);
    const m = cluster.member(3);
    const exited = new Promise<number | null>((resolve) => m.process?.once('exit', (code) => resolve(code)));
    await cluster.kill(3, 'SIGTERM');
    assert.equal(await exited, 0);
    await cluster.restart(3);
    // A linearizable read through the restarted member: it serves again and is caught up.
    const r = await flotilla(['get', 'durable', '--endpoints', m.client], { raw: true });
    assert.equal(r.stdout, 'durable\nyes\n');
  });
});
