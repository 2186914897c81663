import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { nodeFileSystem as fs, openReplicaStorage } from '@flotilla/wal';
import { code, ents, hs, snap, viewOf } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'flotilla-wal-nodefs-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('nodeFileSystem', () => {
  test('files: create, write at positions, allocate, truncate, sync, read, rename, list, remove', async () => {
    const dir = join(root, 'a', 'b');
    await fs.mkdir(dir);
    await fs.mkdir(dir);
    const h = await fs.create(join(dir, 'f.tmp'));
    await h.write(new Uint8Array([1, 2, 3]), 0);
    await h.write(new Uint8Array([9]), 5);
    assert.equal(await h.size(), 6);
    await h.allocate(3 * 1024 * 1024);
    assert.equal(await h.size(), 3 * 1024 * 1024);
    await h.truncate(4);
    await h.sync();
    await h.close();
    await fs.rename(join(dir, 'f.tmp'), join(dir, 'f'));
    await fs.fsyncDir(dir);
    assert.deepEqual(await fs.list(dir), ['f']);
    assert.deepEqual([...(await fs.readFile(join(dir, 'f')))], [1, 2, 3, 0]);
    const w = await fs.openWrite(join(dir, 'f'));
    await w.write(new Uint8Array([7]), 0);
    await w.close();
    assert.equal(readFileSync(join(dir, 'f'))[0], 7);
    await fs.remove(join(dir, 'f'));
    assert.deepEqual(await fs.list(dir), []);
    await assert.rejects(fs.openWrite(join(dir, 'nope')));
  });

  test('lock: a live holder (this process) blocks; release frees it', async () => {
    const dir = join(root, 'lock1');
    await fs.mkdir(dir);
    const a = await fs.lock(dir);
    assert.ok(a.acquired);
    assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
    const b = await fs.lock(dir);
    assert.ok(!b.acquired);
    if (!b.acquired) assert.match(b.holder, new RegExp(`pid ${process.pid}`));
    if (a.acquired) await a.lock.release();
    assert.equal(existsSync(join(dir, 'LOCK')), false);
    const c = await fs.lock(dir);
    assert.ok(c.acquired);
    if (c.acquired) await c.lock.release();
  });

  test('lock: a lock left by a dead process, or an unreadable one, is stale and taken over', async () => {
    const dir = join(root, 'lock2');
    await fs.mkdir(dir);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead !== undefined && dead > 0);
    for (const content of [`${dead}\n`, '', 'garbage']) {
      writeFileSync(join(dir, 'LOCK'), content);
      const r = await fs.lock(dir);
      assert.ok(r.acquired, `taken over from ${JSON.stringify(content)}`);
      if (r.acquired) await r.lock.release();
    }
  });

  test('a WAL on a real disk: open, save, snapshot, compact, reopen; WAL_LOCKED while open', async () => {
    const dir = join(root, 'wal');
    const rs = await openReplicaStorage(dir, { segmentBytes: 4096 });
    await assert.rejects(openReplicaStorage(dir), code('WAL_LOCKED'));
    for (let i = 0; i < 10; i++) {
      await rs.save({
        hardState: hs(1, 1, i * 10),
        entries: ents(i * 10 + 1, i * 10 + 10, 1),
        mustSync: true,
      });
    }
    await rs.saveSnapshot(snap(50, 1));
    await rs.compact(50);
    const before = viewOf(rs);
    await rs.close();
    const again = await openReplicaStorage(dir, { segmentBytes: 4096 });
    assert.deepEqual(viewOf(again), before);
    assert.equal(again.storage.firstIndex(), 51);
    await again.close();
  });
});
