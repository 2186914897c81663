import { MvccError, MvccStore, prefixEnd } from '@flotilla/mvcc';

const store = new MvccStore();
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

// Every write creates a revision; a fresh store is at revision 1.
store.put('/config/color', 'blue'); // revision 2
store.put('/config/size', 'large'); // revision 3

// Compare-and-swap: one transaction, one new revision for all its writes.
const swap = store.txn({
  compare: [{ key: '/config/color', target: 'value', result: 'equal', value: 'blue' }],
  success: [{ put: { key: '/config/color', value: 'green' } }],
  failure: [{ range: { key: '/config/color' } }],
});
console.log(`swapped: ${swap.succeeded} at revision ${swap.revision}`);

// Reads at an older revision still see the old value.
const [old] = store.range('/config/color', undefined, { revision: 2 }).kvs;
console.log(`color at revision 2: ${old ? text(old.value) : '(none)'}`);

// A watch from an old revision replays history, then continues live.
const watch = store.watch({
  key: '/config/',
  rangeEnd: prefixEnd('/config/'),
  startRevision: 2,
  prevKv: true,
});
store.deleteRange('/config/size'); // revision 5
for await (const resp of watch) {
  for (const ev of resp.events) {
    const was = ev.prevKv ? ` (was ${text(ev.prevKv.value)})` : '';
    console.log(`${ev.type} ${text(ev.kv.key)} @${ev.kv.modRevision}${was}`);
  }
  if (resp.revision >= 5) break; // leaving the loop cancels the watch
}

// Compaction drops the history before a revision: older reads fail with COMPACTED.
store.compact(4);
try {
  store.range('/config/color', undefined, { revision: 3 });
} catch (err) {
  if (err instanceof MvccError) console.log(`read at revision 3: ${err.code}`);
}
