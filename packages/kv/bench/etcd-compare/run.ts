/**
 * `pnpm bench:etcd`: Flotilla and etcd 3.4 side by side through the same load driver
 * (/work/shared/bench/etcd-compare/load.mjs, or $ETCD_COMPARE_DIR), in one run on this machine.
 *
 * 1. The driver is copied to a cache dir in the temp dir and its dependencies installed there
 *    with `npm ci` (the shared directory is read-only), once per version of its lock file.
 * 2. When Debian's `etcd` is installed: a 3-member etcd cluster on free loopback ports (defaults:
 *    fsync on every commit, 100 ms heartbeat) is driven with the etcd3 adapter, then stopped.
 * 3. A 3-member Flotilla cluster (three `flotilla member` processes, fsync on, etcd's timing and
 *    etcd 3.4's `--snapshot-count` of 100,000) is driven with `flotilla-adapter.mjs` over
 *    `KvClient`, then stopped.
 * 4. Both are printed side by side with ratios and the floors checked (every Flotilla figure at
 *    least etcd's; put throughput at 256 in flight at least 1.5× etcd's). Timing never fails the
 *    command: it exits 0 whatever the figures; it exits 1 only if a run could not be made.
 *
 * Options: --duration-s N (10), --workloads LIST (the driver's default), --skip-etcd,
 * --profile (members run with `node --cpu-prof`; profiles land in the output dir),
 * --out DIR (default a temp dir; JSON of both runs, logs, profiles), --quiet-wait-s N (0),
 * --retries N (0), --threads N (1), --keep-out (keep DIR even when it is a temp dir).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, LocalCluster } from '@flotilla/kv/local-cluster';

const here = fileURLToPath(new URL('.', import.meta.url));
const SHARED = process.env.ETCD_COMPARE_DIR ?? '/work/shared/bench/etcd-compare';

// `pnpm bench:etcd -- --flag` hands the `--` separator on to the script (pnpm 10): drop it.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    'duration-s': { type: 'string', default: '10' },
    workloads: { type: 'string' },
    'skip-etcd': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    out: { type: 'string' },
    'quiet-wait-s': { type: 'string', default: '0' },
    retries: { type: 'string', default: '0' },
    threads: { type: 'string', default: '1' },
    'keep-out': { type: 'boolean', default: false },
  },
});

const out = resolve(values.out ?? mkdtempSync(join(tmpdir(), 'flotilla-bench-etcd-')));
mkdirSync(out, { recursive: true });

/** The driver with its dependencies installed, in a cache dir keyed by its lock file. */
function prepareDriver(): string {
  const lock = readFileSync(join(SHARED, 'package-lock.json'));
  const hash = createHash('sha256')
    .update(lock)
    .update(readFileSync(join(SHARED, 'load.mjs')))
    .digest('hex');
  const dir = join(tmpdir(), `flotilla-etcd-compare-${hash.slice(0, 12)}`);
  if (!existsSync(join(dir, 'node_modules', 'etcd3'))) {
    rmSync(dir, { recursive: true, force: true });
    cpSync(SHARED, dir, {
      recursive: true,
      filter: (src) => !src.includes('node_modules') && !src.includes('results'),
    });
    console.log(`installing the driver's dependencies in ${dir} (npm ci)`);
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci failed in the driver copy');
  }
  return dir;
}

function driverArgs(label: string, endpoints: string[], pidFile: string, json: string): string[] {
  return [
    '--endpoints',
    endpoints.join(','),
    '--pid-file',
    pidFile,
    '--duration-s',
    values['duration-s'] as string,
    '--quiet-wait-s',
    values['quiet-wait-s'] as string,
    '--retries',
    values.retries as string,
    '--threads',
    values.threads as string,
    '--label',
    label,
    '--out',
    json,
    ...(values.workloads === undefined ? [] : ['--workloads', values.workloads]),
  ];
}

/** Runs the driver; its JSON goes to `json`, its table and progress to the console. */
function drive(nodeArgs: string[], driver: string, adapter: string, args: string[]): void {
  const r = spawnSync(
    process.execPath,
    [...nodeArgs, join(driver, 'load.mjs'), '--adapter', adapter, ...args],
    {
      cwd: driver,
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30 * 60 * 1000,
    },
  );
  const table = r.stdout.slice(r.stdout.lastIndexOf('\n}\n') + 3);
  process.stdout.write(table);
  if (r.status !== 0) throw new Error(`the load driver exited with ${r.status ?? r.signal}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A 3-member etcd cluster with etcd's defaults on free ports; resolves once healthy. */
async function startEtcd(
  dir: string,
): Promise<{ endpoints: string[]; procs: ChildProcess[]; pidFile: string }> {
  const members = [];
  for (let i = 1; i <= 3; i++)
    members.push({ name: `e${i}`, client: await freePort(), peer: await freePort() });
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const procs: ChildProcess[] = [];
  let pids = '';
  for (const m of members) {
    const log = openSync(join(dir, `${m.name}.log`), 'a');
    const p = spawn(
      'etcd',
      [
        '--name',
        m.name,
        '--data-dir',
        join(dir, m.name),
        '--listen-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-cluster',
        initial,
        '--initial-cluster-token',
        'flotilla-bench',
        '--initial-cluster-state',
        'new',
      ],
      { stdio: ['ignore', log, log], detached: true },
    );
    closeSync(log);
    procs.push(p);
    pids += `${p.pid} ${m.name} http://127.0.0.1:${m.client}\n`;
  }
  const pidFile = join(dir, 'pids');
  writeFileSync(pidFile, pids);
  const endpoints = members.map((m) => `127.0.0.1:${m.client}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const h = spawnSync(
      'etcdctl',
      ['--endpoints', endpoints.join(','), '--dial-timeout=1s', '--command-timeout=2s', 'endpoint', 'health'],
      { stdio: 'ignore' },
    );
    if (h.status === 0) break;
    if (Date.now() > deadline) throw new Error(`etcd did not become healthy; logs in ${dir}`);
    await delay(300);
  }
  return { endpoints, procs, pidFile };
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
          p.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          p.kill('SIGTERM');
        }),
    ),
  );
}

interface Result {
  opsPerSec?: number;
  putsPerSec?: number;
  latencyMs?: { p50: number; p99: number };
  putToEventMs?: { p50: number; p99: number };
  errors?: number;
  error?: string;
  skipped?: string;
  contaminated?: boolean;
  cpu?: { serverCores: number; clientCores: number } | null;
}

function results(file: string): Record<string, Result> {
  return (JSON.parse(readFileSync(file, 'utf8')) as { results: Record<string, Result> }).results;
}

function compare(etcd: Record<string, Result> | undefined, flo: Record<string, Result>): void {
  const rows: string[][] = [
    [
      'workload',
      'etcd ops/s',
      'flotilla ops/s',
      'ratio',
      'etcd p50/p99 ms',
      'flotilla p50/p99 ms',
      'srv µs/op e/f',
      'floor',
    ],
  ];
  const misses: string[] = [];
  const f2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));
  for (const [name, f] of Object.entries(flo)) {
    const e = etcd?.[name];
    const rate = (r: Result | undefined): number | undefined => r?.opsPerSec ?? r?.putsPerSec;
    const lat = (r: Result | undefined) => r?.latencyMs ?? r?.putToEventMs;
    const us = (r: Result | undefined): string => {
      const ops = rate(r);
      const c = r?.cpu?.serverCores;
      return ops === undefined || c === undefined || ops === 0 ? '-' : ((c * 1e6) / ops).toFixed(0);
    };
    const fr = rate(f);
    const er = rate(e);
    const ratio = fr !== undefined && er !== undefined && er > 0 ? fr / er : undefined;
    let floor = e === undefined ? 'no etcd' : 'ok';
    if (e !== undefined) {
      const need = name === 'put256' ? 1.5 : 1;
      const bad: string[] = [];
      if (f.error !== undefined) bad.push('error');
      if (ratio === undefined || ratio < need) bad.push(`ops/s < ${need}× etcd`);
      const fl = lat(f);
      const el = lat(e);
      if (fl !== undefined && el !== undefined) {
        if (fl.p50 > el.p50) bad.push('p50 above etcd');
        if (fl.p99 > el.p99) bad.push('p99 above etcd');
      }
      if (bad.length > 0) {
        floor = `MISSED: ${bad.join(', ')}`;
        misses.push(`${name}: ${bad.join(', ')}`);
      }
    }
    rows.push([
      name,
      String(er ?? '-'),
      String(fr ?? (f.error ? 'ERROR' : '-')),
      ratio === undefined ? '-' : `${ratio.toFixed(2)}×`,
      `${f2(lat(e)?.p50)} / ${f2(lat(e)?.p99)}`,
      `${f2(lat(f)?.p50)} / ${f2(lat(f)?.p99)}`,
      `${us(e)} / ${us(f)}`,
      floor,
    ]);
  }
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  console.log('\nFlotilla vs etcd (same machine, same driver, same run; shared 2-core machine: noisy)\n');
  for (const [i, r] of rows.entries()) {
    console.log(
      r.map((c, j) => (j === 0 || j === 7 ? c.padEnd(w[j] ?? 0) : c.padStart(w[j] ?? 0))).join('  '),
    );
    if (i === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '));
  }
  console.log(
    etcd === undefined
      ? '\netcd not measured (install etcd-server, or drop --skip-etcd).'
      : misses.length === 0
        ? '\nAll floors met.'
        : `\nFloors missed:\n  ${misses.join('\n  ')}`,
  );
}

async function main(): Promise<void> {
  const driver = prepareDriver();
  let etcdJson: string | undefined;
  const hasEtcd =
    spawnSync('sh', ['-c', 'command -v etcd && command -v etcdctl'], { stdio: 'ignore' }).status === 0;
  if (!values['skip-etcd'] && hasEtcd) {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-etcd-data-'));
    const etcd = await startEtcd(dir);
    try {
      console.log(
        `\n=== etcd ${execFileSync('etcd', ['--version']).toString().split('\n')[0]} (3 members) ===`,
      );
      etcdJson = join(out, 'etcd.json');
      drive(
        [],
        driver,
        join(driver, 'adapters', 'etcd3.mjs'),
        driverArgs('etcd-3m', etcd.endpoints, etcd.pidFile, etcdJson),
      );
    } finally {
      await stopAll(etcd.procs);
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (!values['skip-etcd']) {
    console.log('etcd is not installed (apt-get install -y etcd-server etcd-client): Flotilla only');
  }

  console.log('\n=== Flotilla (3 member processes) ===');
  const cluster = await LocalCluster.start({
    size: 3,
    dir: join(out, 'flotilla'),
    logLevel: 'warn',
    // etcd 3.4's default --snapshot-count (the member's own default is 10,000; see the README).
    memberArgs: ['--snapshot-count', '100000'],
    ...(values.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(out, 'profiles')}`] } : {}),
  });
  const floJson = join(out, 'flotilla.json');
  try {
    await cluster.waitForLeader();
    const pidFile = join(out, 'flotilla-pids');
    writeFileSync(pidFile, cluster.pidLines());
    drive(
      // Absolute: the driver runs in its own directory, where tsx is not installed.
      ['--conditions=@flotilla/source', '--import', import.meta.resolve('tsx')],
      driver,
      join(here, 'flotilla-adapter.mjs'),
      driverArgs('flotilla-3m', cluster.endpoints, pidFile, floJson),
    );
  } finally {
    await cluster.stop();
  }
  compare(etcdJson === undefined ? undefined : results(etcdJson), results(floJson));
  if (values.profile) {
    const dir = join(out, 'profiles');
    const files = existsSync(dir) ? readdirSync(dir) : [];
    console.log(`\nCPU profiles of the members (${files.length}): ${dir}`);
  }
  console.log(`\nraw results: ${out}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
