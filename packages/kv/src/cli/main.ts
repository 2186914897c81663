/**
 * The `flotilla` command line: `flotilla member ...` runs a member; every other command is a
 * client of a running cluster (`--endpoints`), after etcdctl. Exit codes: 0 ok, 1 an error,
 * reported on stderr as one line naming its code (`Error: OUTCOME_UNKNOWN: ...`), 2 a member
 * whose replica failed.
 */
import { createRequire } from 'node:module';
import { isFlotillaError } from '@flotilla/errors';
import { invalid } from '../errors.js';
import {
  type CommandSpec,
  commandHelp,
  findCommand,
  GLOBAL_OPTIONS,
  leadingWords,
  type OptionSpec,
  parseFor,
} from './args.js';
import { clusterCommands } from './commands-cluster.js';
import { kvCommands } from './commands-kv.js';
import { leaseCommands } from './commands-lease.js';
import { type CliContext, createContext } from './context.js';
import { memberOptions } from './member-options.js';

/** The package version (read directly: the client commands do not load the node's modules). */
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/**
 * `flotilla member`, whose implementation (the whole node) is loaded only when it runs, so the
 * client commands start fast.
 */
const memberCommand: CommandSpec<unknown> = {
  ...memberOptions,
  run: async (_ctx, _positionals, values) => (await import('./member.js')).runMember(values),
};

const CLIENT_COMMANDS: readonly CommandSpec<CliContext>[] = [
  ...kvCommands,
  ...leaseCommands,
  ...clusterCommands,
];

function overview(): string {
  const rows = [memberCommand, ...CLIENT_COMMANDS].map(
    (c) => `  ${`${c.path.join(' ')} ${c.args}`.trim().padEnd(34)} ${c.summary}`,
  );
  return [
    'Usage: flotilla COMMAND [ARGS] [options]',
    '',
    'Flotilla: a replicated key-value store with etcd 3.4 semantics.',
    '',
    'Commands:',
    ...rows,
    '',
    'Client commands talk to --endpoints (default 127.0.0.1:2379); -w json prints JSON.',
    "Run `flotilla COMMAND --help` for a command's options. Exit codes: 0 ok, 1 error.",
    '',
  ].join('\n');
}

/** Every option any command knows (for finding the command words among the arguments). */
function allOptions(): Record<string, OptionSpec> {
  const out: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS };
  for (const c of [memberCommand, ...CLIENT_COMMANDS]) Object.assign(out, c.options);
  return out;
}

/** Runs the command line `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    const topic =
      argv[0] === 'help' ? findCommand([memberCommand, ...CLIENT_COMMANDS], argv.slice(1)) : undefined;
    process.stdout.write(topic === undefined ? overview() : commandHelp(topic.command));
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    process.stdout.write(`flotilla ${VERSION}\n`);
    return 0;
  }
  const words = leadingWords(argv, allOptions());
  if (words[0] === 'member' && words.length === 1) {
    const { values } = parseFor(memberCommand, argv);
    if (values.help === true) {
      process.stdout.write(commandHelp(memberCommand));
      return 0;
    }
    return memberCommand.run(undefined, [], values);
  }
  const found = findCommand(CLIENT_COMMANDS, words);
  if (found === undefined) {
    const group = CLIENT_COMMANDS.filter((c) => c.path[0] === words[0] && c.path.length > 1);
    if (group.length > 0 || words[0] === 'member') {
      const subs = [...group, ...(words[0] === 'member' ? [memberCommand] : [])];
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(
          `Usage: flotilla ${words[0]} SUBCOMMAND\n\n${subs.map((c) => `  ${`${c.path.join(' ')} ${c.args}`.trim().padEnd(34)} ${c.summary}`).join('\n')}\n`,
        );
        return 0;
      }
      throw invalid(
        `flotilla ${words[0]} needs a subcommand: ${group.map((c) => c.path.slice(1).join(' ')).join(', ')}`,
      );
    }
    throw invalid(`unknown command ${JSON.stringify(words.join(' '))} (see flotilla --help)`);
  }
  const { command } = found;
  const { positionals, values } = parseFor(command, argv);
  if (values.help === true) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const ctx = createContext(values);
  try {
    return await command.run(ctx, positionals, values);
  } finally {
    await ctx.close();
  }
}

/** One line naming the error's code. */
export function errorLine(err: unknown): string {
  if (isFlotillaError(err)) return `Error: ${err.code}: ${err.message}`;
  return `Error: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Runs `argv` and sets the process's exit code (what `bin/flotilla.mjs` calls). Stdout is left
 * to drain; a stray handle (a socket in teardown) cannot keep the process alive past that.
 */
export function run(argv: readonly string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
      setTimeout(() => process.exit(code), 50).unref();
    },
    (err: unknown) => {
      process.stderr.write(`${errorLine(err).replace(/\s*\n\s*/g, ' ')}\n`);
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 50).unref();
    },
  );
}
