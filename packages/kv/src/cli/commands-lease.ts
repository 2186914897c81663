/**
 * `flotilla lease grant | revoke | keep-alive | ttl | list` (etcdctl's lease commands) and the
 * coordination recipes `flotilla lock` and `flotilla elect` (etcdctl's, with the fencing token
 * printed and handed to the command run under the lock).
 */
import { spawn } from 'node:child_process';
import { invalid } from '../errors.js';
import { type CommandSpec, flag, parseInteger, str } from './args.js';
import type { CliContext } from './context.js';
import { text } from './output.js';

type Command = CommandSpec<CliContext>;

const TTL_OPTION = {
  ttl: {
    type: 'string',
    arg: 'SECONDS',
    help: 'TTL of the session lease (default 60); it dies with the process',
  },
} as const;

/** Runs `argv` with `env` added; resolves with its exit code (1 when it could not start). */
function runCommand(
  argv: readonly string[],
  env: Record<string, string>,
  interrupted: Promise<void>,
): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.resolve(0);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    void interrupted.then(() => child.kill('SIGTERM'));
    child.on('error', (err) => {
      process.stderr.write(`flotilla: cannot run ${cmd}: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 0 : 1)));
  });
}

export const leaseCommands: readonly Command[] = [
  {
    path: ['lease', 'grant'],
    args: 'TTL',
    summary: 'Grants a lease of TTL seconds (the cluster may raise it to its minimum).',
    async run(ctx, positionals) {
      const r = await (await ctx.client()).grant(parseInteger(positionals[0], 'TTL', 1));
      if (ctx.out.format === 'json') ctx.out.json(r);
      else ctx.out.line(`lease ${r.id} granted with TTL(${r.ttl}s)`);
      return 0;
    },
  },
  {
    path: ['lease', 'revoke'],
    args: 'ID',
    summary: 'Revokes a lease, deleting every key attached to it.',
    async run(ctx, positionals) {
      const id = parseInteger(positionals[0], 'ID', 1);
      const r = await (await ctx.client()).revoke(id);
      if (ctx.out.format === 'json') ctx.out.json(r);
      else ctx.out.line(`lease ${id} revoked`);
      return 0;
    },
  },
  {
    path: ['lease', 'keep-alive'],
    args: 'ID',
    summary: 'Keeps a lease alive until interrupted (or once with --once).',
    options: { once: { type: 'boolean', help: 'send one keep-alive and exit' } },
    async run(ctx, positionals, values) {
      const id = parseInteger(positionals[0], 'ID', 1);
      const client = await ctx.client();
      const print = (ttl: number, r: unknown): void => {
        if (ctx.out.format === 'json') ctx.out.json(r);
        else ctx.out.line(`lease ${id} keepalived with TTL(${ttl})`);
      };
      if (flag(values, 'once')) {
        const r = await client.keepAliveOnce(id);
        print(r.ttl, r);
        return 0;
      }
      const stream = client.keepAlive(id);
      void ctx.interrupted.then(() => stream.cancel());
      let interrupted = false;
      void ctx.interrupted.then(() => {
        interrupted = true;
      });
      for await (const r of stream) print(r.ttl, r);
      if (!interrupted) {
        if (ctx.out.format === 'json') ctx.out.json({ id, ttl: 0 });
        else ctx.out.line(`lease ${id} expired or revoked.`);
      }
      return 0;
    },
  },
  {
    path: ['lease', 'ttl'],
    args: 'ID',
    summary: "Prints a lease's granted and remaining TTL (etcdctl's lease timetolive).",
    options: { keys: { type: 'boolean', help: 'also list the keys attached to the lease' } },
    async run(ctx, positionals, values) {
      const id = parseInteger(positionals[0], 'ID', 1);
      const r = await (await ctx.client()).timeToLive(id, { keys: flag(values, 'keys') });
      if (ctx.out.format === 'json') ctx.out.json(r);
      else if (r.ttl === -1) ctx.out.line(`lease ${id} already expired`);
      else {
        const keys = flag(values, 'keys') ? `, attached keys([${r.keys.map(text).join(' ')}])` : '';
        ctx.out.line(`lease ${id} granted with TTL(${r.grantedTtl}s), remaining(${r.ttl}s)${keys}`);
      }
      return 0;
    },
  },
  {
    path: ['lease', 'list'],
    args: '',
    summary: 'Lists the leases.',
    async run(ctx) {
      const r = await (await ctx.client()).leases();
      if (ctx.out.format === 'json') ctx.out.json(r);
      else {
        ctx.out.line(`found ${r.leases.length} leases`);
        for (const l of r.leases) ctx.out.line(String(l.id));
      }
      return 0;
    },
  },
  {
    path: ['lock'],
    args: 'NAME [-- COMMAND ARGS...]',
    summary: 'Acquires the lock NAME and holds it until interrupted, or runs COMMAND while holding it.',
    details: [
      'Prints the lock key and the fencing token once the lock is held. A COMMAND gets them in',
      'FLOTILLA_LOCK_KEY and FLOTILLA_FENCING_TOKEN: pass the token to whatever the lock protects,',
      'which must refuse a token smaller than the largest it has seen (a lock alone does not stop',
      "a holder that was paused past its lease). Exits with the COMMAND's status.",
    ].join('\n'),
    options: TTL_OPTION,
    async run(ctx, positionals, values) {
      const [name, ...command] = positionals;
      if (name === undefined) throw invalid('lock needs a NAME');
      const ttl = str(values, 'ttl');
      const client = await ctx.client();
      const session = await client.session({ ttl: ttl === undefined ? 60 : parseInteger(ttl, '--ttl', 1) });
      try {
        const abort = new AbortController();
        void ctx.interrupted.then(() => abort.abort());
        const held = await client.lock(name, { session, signal: abort.signal });
        const key = text(held.key);
        if (ctx.out.format === 'json')
          ctx.out.json({ key, fencingToken: held.fencingToken, lease: session.leaseId });
        else {
          ctx.out.line(key);
          ctx.out.line(`fencing token ${held.fencingToken}`);
        }
        let code = 0;
        if (command.length > 0) {
          code = await runCommand(
            command,
            { FLOTILLA_LOCK_KEY: key, FLOTILLA_FENCING_TOKEN: String(held.fencingToken) },
            ctx.interrupted,
          );
        } else {
          await Promise.race([ctx.interrupted, session.done]);
          if (!session.alive) throw invalid('the lock was lost: its session expired');
        }
        await held.unlock();
        return code;
      } finally {
        await session.close().catch(() => {});
      }
    },
  },
  {
    path: ['elect'],
    args: 'NAME [PROPOSAL]',
    summary: 'Campaigns in the election NAME with PROPOSAL and leads until interrupted; --listen observes.',
    options: {
      ...TTL_OPTION,
      listen: { type: 'boolean', help: 'print every leader of the election until interrupted' },
    },
    async run(ctx, positionals, values) {
      const [name, proposal, extra] = positionals;
      if (name === undefined) throw invalid('elect needs a NAME');
      if (extra !== undefined) throw invalid(`unexpected argument ${JSON.stringify(extra)}`);
      const listen = flag(values, 'listen');
      if (listen === (proposal !== undefined))
        throw invalid('give a PROPOSAL to campaign, or --listen to observe');
      const ttl = str(values, 'ttl');
      const client = await ctx.client();
      const session = await client.session({ ttl: ttl === undefined ? 60 : parseInteger(ttl, '--ttl', 1) });
      const print = (l: { key: Uint8Array; value: Uint8Array; fencingToken: number }): void => {
        if (ctx.out.format === 'json')
          ctx.out.json({ key: text(l.key), value: text(l.value), fencingToken: l.fencingToken });
        else {
          ctx.out.line(text(l.key));
          ctx.out.line(text(l.value));
        }
      };
      try {
        const abort = new AbortController();
        void ctx.interrupted.then(() => abort.abort());
        const election = client.election(name, { session });
        if (listen) {
          for await (const leader of election.observe({ signal: abort.signal })) print(leader);
          return 0;
        }
        print(await election.campaign(proposal as string, { signal: abort.signal }));
        await Promise.race([ctx.interrupted, session.done]);
        if (!session.alive) throw invalid('the leadership was lost: its session expired');
        await election.resign();
        return 0;
      } finally {
        await session.close().catch(() => {});
      }
    },
  },
];
