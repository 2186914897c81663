/**
 * The README's example, run as a test. The block between the region markers is checked to appear
 * verbatim in README.md, so the documentation cannot drift from code that works.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeConfChange, MemoryStorage, type NetworkMessage, RawNode } from '@flotilla/raft';

const IMPORT_LINE =
  "import { decodeConfChange, MemoryStorage, type NetworkMessage, RawNode } from '@flotilla/raft';";

test('the README example elects a leader and commits an entry on three RawNodes', () => {
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  // #region example
  // Three members in one process, each with its own storage and state machine.
  const ids = [1, 2, 3];
  const members = ids.map((id) => {
    const storage = new MemoryStorage();
    const node = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      preVote: true,
      checkQuorum: true,
    });
    node.bootstrap(ids); // a new cluster: every member starts with the same peers
    return { id, node, storage, applied: [] as string[] };
  });
  const network: NetworkMessage[] = [];

  // The host's duties for one Ready: persist, send, apply, advance.
  function handleReady(m: (typeof members)[number]): void {
    const rd = m.node.ready();
    if (rd.snapshot) m.storage.applySnapshot(rd.snapshot);
    m.storage.append(rd.entries);
    if (rd.hardState) m.storage.setHardState(rd.hardState);
    network.push(...rd.messages); // a real host sends them to their `to` member
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') m.node.applyConfChange(decodeConfChange(e.data));
      else if (e.data.length > 0) m.applied.push(new TextDecoder().decode(e.data));
    }
    m.node.advance();
  }

  // Runs until no member has work and no message is in flight.
  function settle(): void {
    for (;;) {
      for (const m of members) while (m.node.hasReady()) handleReady(m);
      if (network.length === 0) return;
      for (const msg of network.splice(0)) members.find((m) => m.id === msg.to)?.node.step(msg);
    }
  }

  const [one] = members;
  if (one === undefined) throw new Error('no members');
  settle(); // apply the bootstrap entries
  one.node.campaign(); // a real host calls tick() on a timer; an election timeout does the same
  settle();
  one.node.propose(new TextEncoder().encode('hello, raft'));
  settle();
  for (const m of members) log(`${m.id}: ${m.node.status().raftState}, applied ${JSON.stringify(m.applied)}`);
  // prints: 1: leader, applied ["hello, raft"]
  //         2: follower, applied ["hello, raft"]
  //         3: follower, applied ["hello, raft"]
  // #endregion example

  assert.deepEqual(logs, [
    '1: leader, applied ["hello, raft"]',
    '2: follower, applied ["hello, raft"]',
    '3: follower, applied ["hello, raft"]',
  ]);

  const source = readFileSync(new URL(import.meta.url), 'utf8');
  const start = source.indexOf('// #region example\n') + '// #region example\n'.length;
  const block = source.slice(start, source.indexOf('  // #endregion example'));
  const dedented = block
    .split('\n')
    .map((l) => l.replace(/^ {2}/, ''))
    .join('\n')
    .replace(/\blog\(/g, 'console.log(')
    .trim();
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  // Compared with whitespace collapsed, so line wrapping by the formatter does not matter.
  const squash = (t: string) => t.replace(/\s+/g, ' ');
  assert.ok(
    squash(readme).includes(squash(`${IMPORT_LINE}\n\n${dedented}`)),
    `README.md must contain the example:\n${IMPORT_LINE}\n\n${dedented}`,
  );
});
