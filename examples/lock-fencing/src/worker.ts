/**
 * A report worker, run as its own process so it can really be frozen (SIGSTOP), like a process
 * stuck in a long GC pause, a swapped-out VM or a `kill -STOP`:
 *
 *   node --conditions=@flotilla/source --import tsx src/worker.ts ENDPOINTS STORE_URL NAME
 *
 * It takes the lock `locks/nightly-report`, writes a first part of the report with its fencing
 * token, then "renders" (waits for a line on stdin, so the parent decides how long rendering
 * takes) and writes the final report with the same token. Each step is printed on stdout as
 * one line, for the parent to follow.
 *
 * Note what the worker does NOT do: check that it still holds the lock before the final write.
 * Such a check cannot help: the pause can fall between the check and the write (Kleppmann, "How
 * to do distributed locking", 2016). Only the token, checked by the store at the moment of the
 * write, closes that window.
 */
import { createInterface } from 'node:readline';
import { KvClient } from '@flotilla/kv/client';
import { writeReport } from './storage.js';

const [endpoints, storeUrl, name] = process.argv.slice(2);
if (endpoints === undefined || storeUrl === undefined || name === undefined) {
  console.error('usage: worker.ts ENDPOINTS STORE_URL NAME');
  process.exit(1);
}
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const client = await KvClient.connect({ endpoints: endpoints.split(',') });
// TTL 2 s: the smallest the cluster allows (1.5 × its 1 s election timeout, rounded up).
const session = await client.session({ ttl: 2 });
const held = await client.lock('locks/nightly-report', { session });
say(`locked ${held.fencingToken}`);

const first = await writeReport(storeUrl, 'nightly', held.fencingToken, `part 1 by ${name}`);
say(`part1 ${first.status}`);

say('rendering');
const stdin = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => stdin.once('line', () => resolve()));
stdin.close();

const final = await writeReport(storeUrl, 'nightly', held.fencingToken, `final report by ${name}`);
say(`final ${final.status} ${final.reply}`);

await held.unlock().catch(() => {});
await session.close().catch(() => {});
await client.close();
process.exit(0);
