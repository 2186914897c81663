/**
 * `flotilla put | get | del | txn | watch | compact`: etcdctl's KV commands, same arguments
 * and simple output where etcdctl has them.
 */
import { prefixEnd } from '@flotilla/mvcc';
import type { DeleteOptions, GetOptions, PutRequestOptions } from '../api.js';
import { invalid } from '../errors.js';
import { type CommandSpec, flag, parseInteger, str, type Values } from './args.js';
import type { CliContext } from './context.js';
import { eventLines, kvLines } from './output.js';
import { parseTxnText } from './txn-text.js';

type Command = CommandSpec<CliContext>;

/** `[key, rangeEnd]` from `KEY [RANGE_END]`, `--prefix` or `--from-key`. */
function range(
  positionals: readonly string[],
  values: Values,
): { key: string; rangeEnd?: string | Uint8Array } {
  const [key, end, extra] = positionals;
  if (key === undefined) throw invalid('a KEY is required');
  if (extra !== undefined) throw invalid(`unexpected argument ${JSON.stringify(extra)}`);
  const prefix = flag(values, 'prefix');
  const fromKey = flag(values, 'from-key');
  if ([end !== undefined, prefix, fromKey].filter(Boolean).length > 1) {
    throw invalid('give at most one of RANGE_END, --prefix and --from-key');
  }
  if (prefix) return { key, rangeEnd: prefixEnd(key) };
  if (fromKey) return { key, rangeEnd: '\0' };
  return end === undefined ? { key } : { key, rangeEnd: end };
}

const RANGE_OPTIONS = {
  prefix: { type: 'boolean', help: 'every key with KEY as a prefix' },
  'from-key': { type: 'boolean', help: 'every key ≥ KEY' },
} as const;

const SORT_TARGETS: Record<string, GetOptions['sortTarget']> = {
  key: 'key',
  version: 'version',
  create: 'createRevision',
  modify: 'modRevision',
  value: 'value',
};

export const kvCommands: readonly Command[] = [
  {
    path: ['put'],
    args: 'KEY [VALUE]',
    summary: 'Writes VALUE (or stdin) under KEY.',
    options: {
      lease: { type: 'string', arg: 'ID', help: 'attach the key to this lease' },
      'prev-kv': { type: 'boolean', help: 'print the previous key-value' },
      'ignore-value': { type: 'boolean', help: 'keep the current value (update the lease only)' },
      'ignore-lease': { type: 'boolean', help: 'keep the current lease' },
    },
    async run(ctx, positionals, values) {
      const [key, given, extra] = positionals;
      if (key === undefined) throw invalid('put needs KEY [VALUE]');
      if (extra !== undefined)
        throw invalid(`unexpected argument ${JSON.stringify(extra)} (quote values with spaces)`);
      const ignoreValue = flag(values, 'ignore-value');
      const value = given ?? (ignoreValue ? '' : (await ctx.stdin()).replace(/\n$/, ''));
      const lease = str(values, 'lease');
      const opts: PutRequestOptions = {
        ...(lease === undefined ? {} : { lease: parseInteger(lease, '--lease', 1) }),
        prevKv: flag(values, 'prev-kv'),
        ignoreValue,
        ignoreLease: flag(values, 'ignore-lease'),
      };
      const r = await (await ctx.client()).put(key, value, opts);
      if (ctx.out.format === 'json') ctx.out.json(r);
      else {
        ctx.out.line('OK');
        if (r.prevKv !== undefined) for (const l of kvLines(r.prevKv)) ctx.out.line(l);
      }
      return 0;
    },
  },
  {
    path: ['get'],
    args: 'KEY [RANGE_END]',
    summary: 'Reads KEY, or the keys in [KEY, RANGE_END). Linearizable unless --serializable.',
    options: {
      ...RANGE_OPTIONS,
      rev: { type: 'string', arg: 'N', help: 'read as of revision N' },
      limit: { type: 'string', arg: 'N', help: 'at most N keys' },
      serializable: { type: 'boolean', help: "read the member's local store (may be stale)" },
      'keys-only': { type: 'boolean', help: 'print keys only' },
      'count-only': { type: 'boolean', help: 'print the number of keys only' },
      'print-value-only': { type: 'boolean', help: 'print values only' },
      'sort-by': { type: 'string', arg: 'TARGET', help: 'key, version, create, modify or value' },
      order: { type: 'string', arg: 'ORDER', help: 'ascend or descend' },
    },
    async run(ctx, positionals, values) {
      const { key, rangeEnd } = range(positionals, values);
      const sortBy = str(values, 'sort-by');
      const order = str(values, 'order');
      if (sortBy !== undefined && SORT_TARGETS[sortBy] === undefined) {
        throw invalid(`--sort-by must be one of ${Object.keys(SORT_TARGETS).join(', ')}`);
      }
      if (order !== undefined && order !== 'ascend' && order !== 'descend') {
        throw invalid('--order must be ascend or descend');
      }
      const rev = str(values, 'rev');
      const limit = str(values, 'limit');
      const opts: GetOptions = {
        ...(rangeEnd === undefined ? {} : { rangeEnd }),
        ...(rev === undefined ? {} : { revision: parseInteger(rev, '--rev') }),
        ...(limit === undefined ? {} : { limit: parseInteger(limit, '--limit') }),
        ...(sortBy === undefined ? {} : { sortTarget: SORT_TARGETS[sortBy] }),
        ...(order === undefined ? {} : { sortOrder: order }),
        serializable: flag(values, 'serializable'),
        keysOnly: flag(values, 'keys-only'),
        countOnly: flag(values, 'count-only'),
      };
      const r = await (await ctx.client()).get(key, opts);
      if (ctx.out.format === 'json') ctx.out.json(r);
      else if (opts.countOnly === true) ctx.out.line(String(r.count));
      else {
        const o = { keysOnly: opts.keysOnly === true, valueOnly: flag(values, 'print-value-only') };
        for (const kv of r.kvs) for (const l of kvLines(kv, o)) ctx.out.line(l);
      }
      return 0;
    },
  },
  {
    path: ['del'],
    args: 'KEY [RANGE_END]',
    summary: 'Deletes KEY, or the keys in [KEY, RANGE_END); prints how many were deleted.',
    options: { ...RANGE_OPTIONS, 'prev-kv': { type: 'boolean', help: 'print the deleted key-values' } },
    async run(ctx, positionals, values) {
      const { key, rangeEnd } = range(positionals, values);
      const opts: DeleteOptions = {
        ...(rangeEnd === undefined ? {} : { rangeEnd }),
        prevKv: flag(values, 'prev-kv'),
      };
      const r = await (await ctx.client()).delete(key, opts);
      if (ctx.out.format === 'json') ctx.out.json(r);
      else {
        ctx.out.line(String(r.deleted));
        for (const kv of r.prevKvs) for (const l of kvLines(kv)) ctx.out.line(l);
      }
      return 0;
    },
  },
  {
    path: ['txn'],
    args: '',
    summary:
      'Runs a transaction read from stdin (compares, empty line, success ops, empty line, failure ops).',
    details: [
      'Example (stdin):',
      '  mod("config/db") > "0"',
      '  val("config/db") = "postgres://db-1"',
      '',
      '  put config/db "postgres://db-2"',
      '',
      '  get config/db',
      '',
      'Compares: val|ver|create|mod|lease("KEY") =|!=|>|< "VALUE". Ops: put KEY VALUE, get KEY [END], del KEY [END].',
    ].join('\n'),
    async run(ctx) {
      const req = parseTxnText(await ctx.stdin());
      const r = await (await ctx.client()).txn(req);
      if (ctx.out.format === 'json') {
        ctx.out.json(r);
        return 0;
      }
      ctx.out.line(r.succeeded ? 'SUCCESS' : 'FAILURE');
      for (const op of r.responses) {
        ctx.out.line('');
        if ('put' in op) ctx.out.line('OK');
        else if ('range' in op) for (const kv of op.range.kvs) for (const l of kvLines(kv)) ctx.out.line(l);
        else if ('deleteRange' in op) ctx.out.line(String(op.deleteRange.deleted));
        else ctx.out.line(op.txn.succeeded ? 'SUCCESS' : 'FAILURE');
      }
      return 0;
    },
  },
  {
    path: ['watch'],
    args: 'KEY [RANGE_END]',
    summary: 'Prints changes to KEY (or a range) until interrupted. Starts now unless --rev.',
    options: {
      ...RANGE_OPTIONS,
      rev: { type: 'string', arg: 'N', help: 'replay history from revision N first' },
      'prev-kv': { type: 'boolean', help: 'print the previous key-value of each change' },
      'max-events': { type: 'string', arg: 'N', help: 'exit after N events' },
    },
    async run(ctx, positionals, values) {
      const { key, rangeEnd } = range(positionals, values);
      const rev = str(values, 'rev');
      const maxText = str(values, 'max-events');
      const max = maxText === undefined ? Number.POSITIVE_INFINITY : parseInteger(maxText, '--max-events', 1);
      const prevKv = flag(values, 'prev-kv');
      const w = (await ctx.client()).watch({
        key,
        ...(rangeEnd === undefined ? {} : { rangeEnd }),
        ...(rev === undefined ? {} : { startRevision: parseInteger(rev, '--rev', 1) }),
        prevKv,
      });
      void ctx.interrupted.then(() => w.cancel());
      let seen = 0;
      for await (const resp of w) {
        if (resp.canceled === true) {
          throw invalid(
            `the watch was canceled: ${resp.cancelReason ?? (resp.compactRevision === undefined ? 'unknown reason' : `revision ${resp.compactRevision} is compacted`)}`,
          );
        }
        if (ctx.out.format === 'json') ctx.out.json(resp);
        else for (const e of resp.events) for (const l of eventLines(e, prevKv)) ctx.out.line(l);
        seen += resp.events.length;
        if (seen >= max) break;
      }
      return 0;
    },
  },
  {
    path: ['compact'],
    args: 'REVISION',
    summary: 'Discards the history before REVISION on every member.',
    async run(ctx, positionals) {
      const rev = parseInteger(positionals[0], 'REVISION', 1);
      const r = await (await ctx.client()).compact(rev);
      if (ctx.out.format === 'json') ctx.out.json(r);
      else ctx.out.line(`compacted revision ${rev}`);
      return 0;
    },
  },
];
