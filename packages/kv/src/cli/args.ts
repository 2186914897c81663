/**
 * Command-line parsing for `flotilla`: a table of commands (a path such as `lease grant`, its
 * options and help), global options shared by every client command, and `node:util`'s
 * `parseArgs` doing the work in two passes (find the command, then parse strictly with its
 * options so a typo is an error, not a silent default).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

type ParseArgsOptions = NonNullable<ParseArgsConfig['options']>;

import { invalid } from '../errors.js';

/** One option as `parseArgs` takes it, plus its help line. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Shown in `--help`, e.g. `--lease ID   attach the key to this lease`. */
  readonly help: string;
  /** The value's name in help (`ID`, `N`, `FILE`). */
  readonly arg?: string;
}

/** Parsed option values. */
export type Values = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** A command of the table. */
export interface CommandSpec<C> {
  /** The words naming it: `['lease', 'grant']`. */
  readonly path: readonly string[];
  /** Positional arguments in the usage line: `TTL`, `KEY [VALUE]`. */
  readonly args: string;
  readonly summary: string;
  /** More help text (paragraphs, examples). */
  readonly details?: string;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Does not talk to a cluster (no global client options in its help). */
  readonly local?: boolean;
  run(ctx: C, positionals: readonly string[], values: Values): Promise<number>;
}

/** Options every client command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  endpoints: {
    type: 'string',
    arg: 'LIST',
    help: 'comma-separated member client addresses (default 127.0.0.1:2379)',
  },
  'write-out': { type: 'string', short: 'w', arg: 'FORMAT', help: 'output format: simple (default) or json' },
  timeout: {
    type: 'string',
    arg: 'DURATION',
    help: 'deadline of each request, e.g. 5s or 500ms (default 5s)',
  },
  'dial-timeout': {
    type: 'string',
    arg: 'DURATION',
    help: 'give up dialling one member after this (default 2s)',
  },
  'cluster-id': { type: 'string', arg: 'ID', help: 'refuse members of another cluster' },
  'tls-ca': { type: 'string', arg: 'FILE', help: 'connect with TLS, trusting this CA (PEM)' },
  'tls-cert': {
    type: 'string',
    arg: 'FILE',
    help: 'client certificate (PEM), for --client-cert-auth members',
  },
  'tls-key': { type: 'string', arg: 'FILE', help: 'client private key (PEM)' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

/** The command named by the longest prefix of `words`, and how many words that took. */
export function findCommand<C>(
  commands: readonly CommandSpec<C>[],
  words: readonly string[],
): { command: CommandSpec<C>; used: number } | undefined {
  let best: { command: CommandSpec<C>; used: number } | undefined;
  for (const c of commands) {
    const n = c.path.length;
    if (
      n <= words.length &&
      c.path.every((w, i) => words[i] === w) &&
      (best === undefined || n > best.used)
    ) {
      best = { command: c, used: n };
    }
  }
  return best;
}

/** The leading positional words of `argv` (options skipped, using every known option's type). */
export function leadingWords(argv: readonly string[], known: Readonly<Record<string, OptionSpec>>): string[] {
  const { tokens } = parseArgs({
    args: [...argv],
    options: known as ParseArgsOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const words: string[] = [];
  for (const t of tokens ?? []) {
    if (t.kind === 'positional') words.push(t.value);
    if (t.kind === 'option-terminator') break;
  }
  return words;
}

/** Parses `argv` strictly for `spec` (global options included unless it is local). */
export function parseFor<C>(
  spec: CommandSpec<C>,
  argv: readonly string[],
): { positionals: string[]; values: Values } {
  const options = {
    ...(spec.local === true ? { help: GLOBAL_OPTIONS.help } : GLOBAL_OPTIONS),
    ...spec.options,
  };
  try {
    const r = parseArgs({
      args: [...argv],
      options: options as ParseArgsOptions,
      strict: true,
      allowPositionals: true,
    });
    return { positionals: r.positionals.slice(spec.path.length), values: r.values as Values };
  } catch (err) {
    throw invalid(
      `${err instanceof Error ? err.message : String(err)} (see flotilla ${spec.path.join(' ')} --help)`,
    );
  }
}

/** A duration like `5s`, `500ms`, `2m` or a plain number of ms, in ms. */
export function parseDuration(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (m === null) throw invalid(`${what} must be a duration like 5s or 500ms, got ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  const ms = m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
  if (!(ms > 0)) throw invalid(`${what} must be positive`);
  return ms;
}

/** A non-negative safe integer argument. */
export function parseInteger(v: string | undefined, what: string, min = 0): number {
  if (v === undefined) throw invalid(`${what} is required`);
  const n = /^-?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw invalid(`${what} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** The string value of option `name`, or undefined. */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** True when boolean option `name` was given. */
export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** The help text of one command. */
export function commandHelp<C>(spec: CommandSpec<C>): string {
  const lines = [
    `Usage: flotilla ${spec.path.join(' ')}${spec.args === '' ? '' : ` ${spec.args}`} [options]`,
    '',
  ];
  lines.push(spec.summary);
  if (spec.details !== undefined) lines.push('', spec.details);
  const opt = (name: string, o: OptionSpec): string => {
    const left = `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.arg === undefined ? '' : ` ${o.arg}`}`;
    return `  ${left.padEnd(30)} ${o.help}`;
  };
  const own = Object.entries(spec.options ?? {});
  if (own.length > 0) {
    lines.push('', 'Options:');
    for (const [n, o] of own) lines.push(opt(n, o));
  }
  lines.push('', spec.local === true ? 'Options:' : 'Global options:');
  for (const [n, o] of Object.entries(GLOBAL_OPTIONS)) {
    if (spec.local === true && n !== 'help') continue;
    lines.push(opt(n, o));
  }
  return `${lines.join('\n')}\n`;
}
