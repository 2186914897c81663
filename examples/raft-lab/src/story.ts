import type { NodeId } from '@flotilla/raft';
import { LabCluster } from './cluster.js';

/**
 * The lab's story, narrated: a leader is elected, commands commit (the commit index moving on
 * every member), the leader crashes, the others elect a new leader in a higher term and commit
 * more, and the old leader restarts from its storage and catches up. Every line is derived from
 * what the members report (`status()`), never scripted, so what you read is what Raft did.
 */

/** Options of {@link runStory}. */
export interface StoryOptions {
  /** Seeds the members' randomized election timeouts: the same seed, the same story. */
  readonly seed: number;
  /** Receives each narrated line. */
  readonly print: (line: string) => void;
}

/** What happened, for tests. */
export interface StoryResult {
  readonly firstLeader: NodeId;
  readonly firstTerm: number;
  readonly secondLeader: NodeId;
  readonly secondTerm: number;
  /** Each member's applied commands at the end. */
  readonly applied: ReadonlyMap<NodeId, readonly string[]>;
}

const IDS: readonly NodeId[] = [1, 2, 3];

/** Runs the story; throws if Raft does not do what the story needs within generous bounds. */
export function runStory({ seed, print }: StoryOptions): StoryResult {
  const lab = new LabCluster(IDS, seed);
  const say = (text: string): void => print(`t=${String(lab.time).padEnd(4)} ${text}`);
  const watch = new Watcher(lab, say);

  print(`Raft lab: three members in one process (seed ${seed}).`);
  print('Time is counted in ticks: a leader sends a heartbeat every tick, and a follower that hears');
  print('nothing for its election timeout (drawn at random between 10 and 19 ticks) campaigns.');
  print('');
  say(`members ${IDS.join(', ')} start as followers in term 1; log entries 1-3 list the three voters`);
  watch.commitLine();

  // 1. An election: tick until someone times out and wins.
  const first = runUntil(lab, watch, () => lab.leader(), 'the first election');
  const firstTerm = lab.member(first).node?.status().term ?? 0;

  // 2. Commands committed through the leader.
  const commands = ['x=1', 'y=2', 'z=3'];
  say(`client sends ${commands.map((c) => `"${c}"`).join(', ')} to leader ${first}`);
  for (const c of commands) lab.propose(first, c);
  watch.observe();
  for (let i = 0; i < 3; i++) lab.tick();
  watch.observe();

  // 3. The leader crashes: cut off and stopped, its disk intact.
  lab.crash(first);
  say(`CRASH: leader ${first} stops; its storage (term, vote, log) survives on disk`);
  watch.observe();

  // 4. The others notice (no heartbeats), and one of them wins a higher term.
  const second = runUntil(
    lab,
    watch,
    () => {
      const l = lab.leader();
      return l !== undefined && l !== first ? l : undefined;
    },
    'the second election',
  );
  const secondTerm = lab.member(second).node?.status().term ?? 0;

  // 5. More commands: a majority (two of three) is enough.
  const more = ['x=10', 'w=4'];
  say(`client sends ${more.map((c) => `"${c}"`).join(', ')} to leader ${second}`);
  for (const c of more) lab.propose(second, c);
  watch.observe();
  for (let i = 0; i < 3; i++) lab.tick();
  watch.observe();

  // 6. The old leader comes back and catches up.
  lab.restart(first);
  const back = lab.member(first).node?.status();
  say(
    `RESTART: member ${first} reloads term ${back?.term}, its vote and log from storage (commit index ${back?.commit}) and rejoins as a follower`,
  );
  watch.observe();
  for (let i = 0; i < 40 && !caughtUp(lab); i++) lab.tick();
  watch.observe();
  if (!caughtUp(lab)) throw new Error(`member ${first} did not catch up`);

  const applied = new Map<NodeId, readonly string[]>();
  for (const m of lab.members.values()) applied.set(m.id, [...m.applied]);
  print('');
  for (const [id, cmds] of applied) print(`member ${id} applied: ${cmds.join(' ')}`);
  const same = [...applied.values()].every((a) => a.join() === applied.get(1)?.join());
  print(same ? 'every member applied the same commands in the same order.' : 'MEMBERS DISAGREE');
  if (!same) throw new Error('state machines diverged');
  return { firstLeader: first, firstTerm, secondLeader: second, secondTerm, applied };
}

function caughtUp(lab: LabCluster): boolean {
  const commits = lab.statuses().map((s) => s.commit);
  return commits.length === IDS.length && commits.every((c) => c === commits[0]);
}

/** Ticks until `done` returns an id (at most 200 ticks), narrating along the way. */
function runUntil(lab: LabCluster, watch: Watcher, done: () => NodeId | undefined, what: string): NodeId {
  for (let i = 0; i < 200; i++) {
    lab.tick();
    watch.observe();
    const id = done();
    if (id !== undefined) return id;
  }
  throw new Error(`no leader after 200 ticks (${what})`);
}

/**
 * Turns what the members report into lines: role changes as they appear in the Readies (a
 * pre-vote round, a candidacy, a new leader, a follower learning its leader), and the commit
 * index of every member whenever one of them moves.
 */
class Watcher {
  private readonly lab: LabCluster;
  private readonly say: (text: string) => void;
  private lastCommits = '';

  constructor(lab: LabCluster, say: (text: string) => void) {
    this.lab = lab;
    this.say = say;
    lab.onReady = (id, rd) => {
      const ss = rd.softState;
      if (ss === undefined) return;
      const term = lab.member(id).node?.status().term ?? 0;
      if (ss.raftState === 'preCandidate') {
        this.say(
          `member ${id} heard from no leader for its election timeout: it asks for pre-votes for term ${term + 1}`,
        );
      } else if (ss.raftState === 'candidate') {
        this.say(`member ${id} becomes candidate in term ${term} and asks for votes`);
      } else if (ss.raftState === 'leader') {
        this.say(`member ${id} is LEADER of term ${term} (a majority voted for it)`);
      } else if (ss.lead !== 0) {
        this.say(`member ${id} follows leader ${ss.lead} in term ${term}`);
      }
    };
  }

  observe(): void {
    this.commitLine();
  }

  /** Prints every member's commit index when one of them moved. */
  commitLine(): void {
    const parts: string[] = [];
    for (const m of this.lab.members.values()) {
      parts.push(m.node === undefined ? `${m.id}: down` : `${m.id}: ${m.node.status().commit}`);
    }
    const line = parts.join('  ');
    if (line === this.lastCommits) return;
    this.lastCommits = line;
    this.say(`commit index   ${line}`);
  }
}
