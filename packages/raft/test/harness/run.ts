import { Args } from './args.js';
import { type Block, parseCommandLine, parseScenario } from './datadriven.js';
import { InteractionEnv } from './env.js';
import { HANDLERS } from './handlers/index.js';

/** The result of running one scenario file: its blocks and the output each produced. */
export interface ScenarioRun {
  readonly blocks: readonly Block[];
  readonly outputs: readonly string[][];
}

/**
 * Runs every block of a scenario file against one fresh {@link InteractionEnv} and returns what
 * each printed. A command that prints nothing prints `ok`. Harness errors (unknown command, bad
 * arguments) throw with `file:line`.
 */
export function runScenario(text: string, file: string): ScenarioRun {
  const blocks = parseScenario(text, file);
  const env = new InteractionEnv();
  const outputs = blocks.map((b) => {
    const cmd = parseCommandLine(b.command);
    const handler = HANDLERS.get(cmd.name);
    if (handler === undefined) throw new Error(`${file}:${b.line}: unknown command ${cmd.name}`);
    try {
      handler(env, new Args(cmd, b.input));
    } catch (err) {
      throw new Error(
        `${file}:${b.line}: ${b.command}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
    const lines = env.out.take();
    return lines.length === 0 ? ['ok'] : lines;
  });
  return { blocks, outputs };
}
