/**
 * WAL benchmarks on a temp directory of the real disk (`pnpm bench packages/wal`):
 *
 * 1. the machine's raw fsync rate: a 4 KiB write + fdatasync loop, appending and overwriting a
 *    preallocated file (what the WAL does);
 * 2. save throughput with 1, 16, 128 and 1,024 concurrent callers, each saving one 256-byte
 *    entry at a time: entries/s, fsyncs/s, achieved batch size (entries per fsync);
 * 3. bytes/s with 64 KiB saves;
 * 4. recovery time of a 1M-entry log (written by 1,024 concurrent single-entry callers, so one
 *    record per entry: the slow case for recovery).
 *
 * Floors (printed, never failing the run): with ≥ 128 callers, entries/s ≥ 0.8 × raw fsyncs/s ×
 * achieved batch size (the WAL adds little beyond the disk); recovery of 1M entries ≤ 2 s.
 * Figures are noisy on a shared machine. `WAL_BENCH_SECONDS` sets each throughput run's length.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '@flotilla/raft';
import { type FileHandle, type FileSystem, nodeFileSystem, openReplicaStorage } from '@flotilla/wal';

const SECONDS = Number(process.env.WAL_BENCH_SECONDS ?? 3);
const root = mkdtempSync(join(tmpdir(), 'flotilla-wal-bench-'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** nodeFileSystem, counting the fsyncs of segment files. */
function countingFs(): { fs: FileSystem; syncs: () => number } {
  let syncs = 0;
  const wrap = (h: FileHandle): FileHandle => ({
    path: h.path,
    size: () => h.size(),
    write: (d, p) => h.write(d, p),
    allocate: (s) => h.allocate(s),
    truncate: (s) => h.truncate(s),
    sync: () => {
      if (h.path.endsWith('.wal')) syncs++;
      return h.sync();
    },
    close: () => h.close(),
  });
  return {
    fs: {
      ...nodeFileSystem,
      create: async (p) => wrap(await nodeFileSystem.create(p)),
      openWrite: async (p) => wrap(await nodeFileSystem.openWrite(p)),
    },
    syncs: () => syncs,
  };
}

/**
 * The raw fsync rate: 4 KiB write + fdatasync in a loop, through the same asynchronous calls
 * the WAL makes (the thread pool), appending or overwriting a preallocated file.
 */
async function rawFsync(preallocated: boolean, seconds = SECONDS, blockBytes = 4096): Promise<number> {
  const path = join(root, `raw-${preallocated}`);
  const h = await nodeFileSystem.create(path);
  const block = new Uint8Array(blockBytes).fill(7);
  const n = Math.max(100, Math.floor((80 * 2 ** 20) / blockBytes));
  if (preallocated) {
    await h.allocate(n * blockBytes);
    await h.sync();
  }
  const start = performance.now();
  let done = 0;
  while (done < n && performance.now() - start < seconds * 1000) {
    await h.write(block, done * blockBytes);
    await h.sync();
    done++;
  }
  const rate = (done * 1000) / (performance.now() - start);
  await h.close();
  rmSync(path);
  return rate;
}

const payload = new Uint8Array(256).fill(42);

interface Throughput {
  callers: number;
  entriesPerSec: number;
  fsyncsPerSec: number;
  batch: number;
}

async function throughput(
  callers: number,
  entrySize: number,
  perSave: number,
  seconds: number,
): Promise<Throughput> {
  const dir = join(root, `tp-${callers}-${entrySize}-${perSave}`);
  const { fs, syncs } = countingFs();
  const rs = await openReplicaStorage(dir, { fs });
  const data = entrySize === payload.length ? payload : new Uint8Array(entrySize).fill(1);
  let next = 1;
  let measuring = false;
  let entries = 0;
  let stop = false;
  const caller = async () => {
    while (!stop) {
      const batch: Entry[] = [];
      for (let k = 0; k < perSave; k++) batch.push({ index: next++, term: 1, type: 'normal', data });
      await rs.save({ entries: batch, mustSync: true });
      if (measuring) entries += perSave;
    }
  };
  const running = Array.from({ length: callers }, caller);
  await new Promise((r) => setTimeout(r, 300)); // warm up
  const syncs0 = syncs();
  measuring = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - start) / 1000;
  const fsyncs = syncs() - syncs0;
  stop = true;
  await Promise.all(running);
  await rs.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    callers,
    entriesPerSec: entries / elapsed,
    fsyncsPerSec: fsyncs / elapsed,
    batch: entries / Math.max(fsyncs, 1),
  };
}

async function recovery(total: number): Promise<{ writeSec: number; recoverMs: number; bytes: number }> {
  const dir = join(root, 'recovery');
  const rs = await openReplicaStorage(dir);
  const start = performance.now();
  let next = 1;
  const window = 1024;
  while (next <= total) {
    const calls: Promise<void>[] = [];
    for (let k = 0; k < window && next <= total; k++) {
      calls.push(
        rs.save({ entries: [{ index: next, term: 1, type: 'normal', data: payload }], mustSync: true }),
      );
      next++;
    }
    await Promise.all(calls);
  }
  await rs.save({ hardState: { term: 1, vote: 1, commit: total }, entries: [], mustSync: true });
  const writeSec = (performance.now() - start) / 1000;
  await rs.close();
  let bytes = 0;
  for (const name of await nodeFileSystem.list(dir))
    if (name.endsWith('.wal')) bytes += (await nodeFileSystem.readFile(join(dir, name))).byteLength;
  gc();
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    const t = performance.now();
    const again = await openReplicaStorage(dir);
    const ms = performance.now() - t;
    if (again.storage.lastIndex() !== total)
      throw new Error(`recovered ${again.storage.lastIndex()} of ${total}`);
    await again.close();
    best = Math.min(best, ms);
    gc();
  }
  rmSync(dir, { recursive: true, force: true });
  return { writeSec, recoverMs: best, bytes };
}

try {
  console.log(`temp dir ${root} (${SECONDS} s per run; figures are noisy on a shared machine)\n`);
  const rawAppend = await rawFsync(false);
  const rawPrealloc = await rawFsync(true);
  console.log('raw fsync rate, 4 KiB write + fdatasync:');
  console.log(`  appending to a file          ${fmt(rawAppend)} /s`);
  console.log(
    `  overwriting a preallocated   ${fmt(rawPrealloc)} /s   (the WAL preallocates its segments)\n`,
  );

  // The disk is shared: its fsync rate drifts by several times within minutes here. So each
  // throughput run is compared with a raw measurement taken right before and right after it.
  console.log('save(): each caller saves one 256-byte entry at a time (mustSync)');
  console.log(
    '  callers   entries/s   fsyncs/s   batch   raw fsyncs/s around it   entries/s ÷ (raw × batch)',
  );
  const results: Array<Throughput & { raw: number; rawBatch: number }> = [];
  for (const callers of [1, 16, 128, 1024]) {
    gc();
    const before = await rawFsync(true, 1);
    const r = await throughput(callers, 256, 1, SECONDS);
    const raw = (before + (await rawFsync(true, 1))) / 2;
    // The disk doing the same bytes: a write the size of the batch achieved (its entries'
    // payload rounded up to 4 KiB, framing not counted, so this errs against the WAL) + fsync.
    const batchBytes = Math.ceil((r.batch * 256) / 4096) * 4096;
    const rawBatch = await rawFsync(true, 1, batchBytes);
    results.push({ ...r, raw, rawBatch });
    const ratio = r.entriesPerSec / (raw * r.batch);
    console.log(
      `  ${String(callers).padStart(7)} ${fmt(r.entriesPerSec).padStart(11)} ${fmt(r.fsyncsPerSec).padStart(10)} ${fmt(r.batch, 1).padStart(7)}   ${fmt(raw).padStart(22)}   ${fmt(ratio, 2)}`,
    );
  }

  gc();
  const big = await throughput(1, 1024, 64, SECONDS);
  const big4 = await throughput(4, 1024, 64, SECONDS);
  console.log('\nsave(): 64 KiB saves (64 entries of 1 KiB)');
  console.log(
    `  1 caller    ${fmt((big.entriesPerSec * 1024) / 2 ** 20, 1)} MiB/s   ${fmt(big.fsyncsPerSec)} fsyncs/s`,
  );
  console.log(
    `  4 callers   ${fmt((big4.entriesPerSec * 1024) / 2 ** 20, 1)} MiB/s   ${fmt(big4.fsyncsPerSec)} fsyncs/s`,
  );

  gc();
  const total = Number(process.env.WAL_BENCH_RECOVERY_ENTRIES ?? 1_000_000);
  const rec = await recovery(total);
  console.log(
    `\nrecovery of ${fmt(total)} entries of 256 bytes, one record each (${fmt(rec.bytes / 2 ** 20)} MiB of segments, written in ${fmt(rec.writeSec, 1)} s)`,
  );
  console.log(`  best of 3: ${fmt(rec.recoverMs)} ms`);

  // The disk's durable sequential bandwidth, for the floors below (100 MiB in 1 MiB steps).
  const rawMiB = await rawFsync(true, SECONDS, 2 ** 20);
  console.log(`\nraw 1 MiB write + fdatasync (100 MiB): ${fmt(rawMiB, 1)} MiB/s`);

  console.log('\nfloors:');
  for (const r of results.filter((x) => x.callers >= 128)) {
    const need = 0.8 * r.raw * r.batch;
    const ownNeed = 0.8 * r.fsyncsPerSec * r.batch;
    const sameBytes = 0.8 * r.rawBatch * r.batch;
    console.log(
      `  ${r.callers} callers: ${fmt(r.entriesPerSec)} entries/s vs 0.8 × raw ${fmt(r.raw)} × batch ${fmt(r.batch, 1)} = ${fmt(need)}: ${r.entriesPerSec >= need ? 'PASS' : 'BELOW'}` +
        ` (vs the WAL's own fsync rate: ${fmt(ownNeed)}: ${r.entriesPerSec >= ownNeed ? 'PASS' : 'BELOW'};` +
        ` vs raw fsyncs of batch-sized writes, ${fmt(r.rawBatch)}/s: ${fmt(sameBytes)}: ${r.entriesPerSec >= sameBytes ? 'PASS' : 'BELOW'})`,
    );
    // What the floor asks of the disk: its entries' payload alone, fsynced, against the disk's
    // own durable bandwidth (large writes, each followed by an fdatasync: no WAL can write a
    // batch and make it durable faster than that).
    const needMiB = (need * 256) / 2 ** 20;
    console.log(
      `    that floor is ${fmt(needMiB, 1)} MiB/s of 256-byte payloads made durable; the disk's raw 1 MiB write + fdatasync loop: ${fmt(rawMiB, 1)} MiB/s`,
    );
  }
  console.log(
    `  recovery of ${fmt(total)} entries: ${fmt(rec.recoverMs)} ms ≤ 2000 ms: ${rec.recoverMs <= 2000 ? 'PASS' : 'BELOW'}`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
