/**
 * `flotilla member list | add | remove | promote`, `flotilla status` and `flotilla snapshot save`
 * (etcdctl's member, endpoint status and snapshot commands).
 */
import { writeFileSync } from 'node:fs';
import { isFlotillaError } from '@flotilla/errors';
import type { Member } from '../api.js';
import { invalid } from '../errors.js';
import { type CommandSpec, flag, parseInteger, str } from './args.js';
import type { CliContext } from './context.js';
import { table } from './output.js';

type Command = CommandSpec<CliContext>;

function memberLine(m: Member): string {
  const started = m.clientUrls.length > 0 ? 'started' : 'unstarted';
  return [m.id, started, m.name, m.peerUrls.join(','), m.clientUrls.join(','), m.isLearner].join(', ');
}

export const clusterCommands: readonly Command[] = [
  {
    path: ['member', 'list'],
    args: '',
    summary: 'Lists the members: id, started, name, peer URLs, client URLs, is learner.',
    async run(ctx) {
      const r = await (await ctx.client()).members();
      if (ctx.out.format === 'json') ctx.out.json(r);
      else for (const m of r.members) ctx.out.line(memberLine(m));
      return 0;
    },
  },
  {
    path: ['member', 'add'],
    args: 'NAME',
    summary: 'Adds a member reachable by peers at --peer-urls; prints how to start it.',
    options: {
      'peer-urls': {
        type: 'string',
        arg: 'HOST:PORT',
        help: 'where the new member listens for peers (required)',
      },
      learner: { type: 'boolean', help: 'add it as a learner (no vote until promoted)' },
      id: { type: 'string', arg: 'N', help: 'its member id (default: derived from the URL)' },
    },
    async run(ctx, positionals, values) {
      const [name] = positionals;
      const peerUrl = str(values, 'peer-urls');
      if (name === undefined || peerUrl === undefined) throw invalid('member add needs NAME and --peer-urls');
      const id = str(values, 'id');
      const r = await (await ctx.client()).addMember(peerUrl, {
        isLearner: flag(values, 'learner'),
        ...(id === undefined ? {} : { id: parseInteger(id, '--id', 1) }),
      });
      if (ctx.out.format === 'json') {
        ctx.out.json(r);
        return 0;
      }
      const cluster = r.members
        .map((m) => `${m.id}=${m.id === r.member.id ? peerUrl : (m.peerUrls[0] ?? '?')}`)
        .join(',');
      ctx.out.line(`Member ${r.member.id} added to cluster${r.member.isLearner ? ' as a learner' : ''}`);
      ctx.out.line('');
      ctx.out.line(
        `Start it with: flotilla member --name ${name} --id ${r.member.id} --listen-peer ${peerUrl} --initial-cluster ${cluster} --initial-cluster-state existing --listen-client HOST:PORT --data-dir DIR`,
      );
      return 0;
    },
  },
  {
    path: ['member', 'remove'],
    args: 'ID',
    summary: 'Removes a member from the cluster.',
    async run(ctx, positionals) {
      const id = parseInteger(positionals[0], 'ID', 1);
      const r = await (await ctx.client()).removeMember(id);
      if (ctx.out.format === 'json') ctx.out.json(r);
      else ctx.out.line(`Member ${id} removed from cluster`);
      return 0;
    },
  },
  {
    path: ['member', 'promote'],
    args: 'ID',
    summary: 'Promotes a learner to a voting member.',
    async run(ctx, positionals) {
      const id = parseInteger(positionals[0], 'ID', 1);
      const r = await (await ctx.client()).promoteMember(id);
      if (ctx.out.format === 'json') ctx.out.json(r);
      else ctx.out.line(`Member ${id} promoted in cluster`);
      return 0;
    },
  },
  {
    path: ['status'],
    args: '',
    summary:
      'Prints the status of every endpoint (leader, term, indexes, keys); exits 1 if one is unreachable.',
    async run(ctx) {
      const rows: string[][] = [];
      const json: unknown[] = [];
      let failed = false;
      for (const ep of ctx.endpoints) {
        try {
          const c = await ctx.clientOf(ep);
          const s = await c.status();
          json.push({ endpoint: ep, ...s });
          rows.push([
            ep,
            String(s.header.memberId),
            s.version,
            String(s.leader),
            String(s.leader === s.header.memberId),
            String(s.raftTerm),
            String(s.raftIndex),
            String(s.raftAppliedIndex),
            String(s.header.revision),
            String(s.keys),
            s.errors.join('; '),
          ]);
        } catch (err) {
          failed = true;
          const reason = isFlotillaError(err) ? `${err.code}: ${err.message}` : String(err);
          json.push({ endpoint: ep, error: reason });
          rows.push([ep, '-', '-', '-', '-', '-', '-', '-', '-', '-', reason]);
        }
      }
      if (ctx.out.format === 'json') ctx.out.json(json);
      else {
        const header = [
          'ENDPOINT',
          'ID',
          'VERSION',
          'LEADER',
          'IS LEADER',
          'TERM',
          'INDEX',
          'APPLIED',
          'REVISION',
          'KEYS',
          'ERRORS',
        ];
        for (const l of table(header, rows)) ctx.out.line(l);
      }
      return failed ? 1 : 0;
    },
  },
  {
    path: ['snapshot', 'save'],
    args: 'FILE',
    summary: "Saves the contacted member's state machine snapshot (store, leases, members) to FILE.",
    async run(ctx, positionals) {
      const [file] = positionals;
      if (file === undefined) throw invalid('snapshot save needs a FILE');
      const s = await (await ctx.client()).snapshot({ timeoutMs: Math.max(60_000, ctx.timeoutMs) });
      writeFileSync(file, s.data);
      if (ctx.out.format === 'json') {
        ctx.out.json({ file, bytes: s.data.byteLength, revision: s.revision, memberId: s.memberId });
      } else {
        ctx.out.line(
          `Snapshot saved at ${file} (${s.data.byteLength} bytes, revision ${s.revision}, from member ${s.memberId})`,
        );
      }
      return 0;
    },
  },
];
