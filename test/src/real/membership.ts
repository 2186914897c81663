/**
 * The membership nemesis of real mode, through the `flotilla` CLI as an operator would run it
 * (etcdctl's `member add --learner`, `member promote`, `member remove`):
 *
 * - `grow`: prepare a new member's ports and proxy listener, `flotilla member add m<N>
 *   --learner --id N --peer-urls <its proxy address>`, then start the process with
 *   `--initial-cluster-state existing`. Only one extra member at a time.
 * - `promote`: `flotilla member promote N` for the learner (refused while it lags: etcd's rule).
 * - `shrink`: `flotilla member remove` the learner, or, once the cluster has one voter more than
 *   it was founded with, a random voter (possibly the leader); then stop its process for good.
 * Changes run one at a time, queued in schedule order.
 *   The configuration never drops below the founding size, so a quorum stays reachable.
 */
import { spawn } from 'node:child_process';
import { FLOTILLA_BIN } from '@flotilla/kv/local-cluster';
import type { Random } from '@flotilla/raft';
import type { RealCluster } from './cluster.js';

/** What a CLI command did. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `flotilla <args>` (killed after `timeoutMs`). */
export function runCli(args: readonly string[], timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FLOTILLA_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The error line of a failed command (`Error: CODE: message` → `CODE: message`). */
function why(r: CliResult): string {
  const line = r.stderr.trim().split('\n').pop() ?? '';
  return line.replace(/^Error:\s*/, '') || `exit code ${String(r.code)}`;
}

/** The voters and learners a member of `cluster` reports (undefined when none answers). */
async function configuration(
  cluster: RealCluster,
): Promise<{ voters: number[]; learners: number[] } | undefined> {
  for (const id of cluster.inState('running')) {
    const client = cluster.member(id)?.client;
    if (client === undefined) continue;
    try {
      const r = await client.members({ timeoutMs: 1000 });
      return {
        voters: r.members.filter((m) => !m.isLearner).map((m) => m.id),
        learners: r.members.filter((m) => m.isLearner).map((m) => m.id),
      };
    } catch {
      // try the next member
    }
  }
  return undefined;
}

/** Membership changes through the CLI (see the module notes). */
export class MembershipNemesis {
  readonly #cluster: RealCluster;
  readonly #rng: Random;
  readonly #baseVoters: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(cluster: RealCluster, rng: Random, baseVoters: number) {
    this.#cluster = cluster;
    this.#rng = rng;
    this.#baseVoters = baseVoters;
  }

  #endpoints(): string[] {
    return ['--endpoints', this.#cluster.clientAddresses().join(','), '--timeout', '3s', '-w', 'json'];
  }

  /**
   * Runs membership changes one after another, in schedule order (a CLI command takes a second
   * or two, longer than the simulation's gap between `grow` and `promote`).
   */
  #exclusive(work: () => Promise<string>): Promise<string> {
    const run = this.#queue.then(async () => {
      if (this.#cluster.clientAddresses().length === 0) return 'skipped (no running member)';
      return work();
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Adds a learner and starts it. */
  grow(): Promise<string> {
    return this.#exclusive(async () => {
      const conf = await configuration(this.#cluster);
      if (conf === undefined) return 'skipped (no member answered member list)';
      if (conf.voters.length > this.#baseVoters || conf.learners.length > 0) return 'skipped (already grown)';
      const c = this.#cluster;
      const id = Math.max(...c.members.keys()) + 1;
      const join = await c.prepareJoin(id);
      const r = await runCli([
        'member',
        'add',
        `m${id}`,
        '--learner',
        '--id',
        String(id),
        '--peer-urls',
        join.proxy,
        ...this.#endpoints(),
      ]);
      if (r.code !== 0) {
        const added = (await configuration(c))?.learners.includes(id) === true;
        if (!added) {
          await c.abandonJoin(id);
          return `member add ${id} refused: ${why(r)}`;
        }
      }
      const members = [...conf.voters, ...conf.learners, id];
      const initial = members
        .map((m) => `${m}=${m === id ? join.proxy : (c.member(m)?.proxyAddress ?? '')}`)
        .join(',');
      await join.start(initial);
      return `flotilla member add m${id} --learner (peer ${join.proxy}), started member ${id}`;
    });
  }

  /** Promotes the learner. */
  promote(): Promise<string> {
    return this.#exclusive(async () => {
      const [learner] = (await configuration(this.#cluster))?.learners ?? [];
      if (learner === undefined) return 'no learner to promote';
      const r = await runCli(['member', 'promote', String(learner), ...this.#endpoints()]);
      return r.code === 0
        ? `flotilla member promote ${learner}`
        : `member promote ${learner} refused: ${why(r)}`;
    });
  }

  /** Removes the learner, or a voter beyond the founding size, and retires its process. */
  shrink(): Promise<string> {
    return this.#exclusive(async () => {
      const conf = await configuration(this.#cluster);
      if (conf === undefined) return 'skipped (no member answered member list)';
      let victim: number | undefined = conf.learners[0];
      if (victim === undefined && conf.voters.length > this.#baseVoters) victim = this.#rng.pick(conf.voters);
      if (victim === undefined) return 'nothing to remove';
      const r = await runCli(['member', 'remove', String(victim), ...this.#endpoints()]);
      if (r.code !== 0) {
        const still = await configuration(this.#cluster);
        const gone = still !== undefined && ![...still.voters, ...still.learners].includes(victim);
        if (!gone) return `member remove ${victim} refused: ${why(r)}`;
      }
      await this.#cluster.retire(victim);
      return `flotilla member remove ${victim}, stopped its process`;
    });
  }
}
