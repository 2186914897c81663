/**
 * The plain-text scenario format, in the spirit of etcd's datadriven tests
 * (github.com/cockroachdb/datadriven): a file is a sequence of blocks
 *
 * ```
 * # comment lines (free prose: what the scenario shows and why)
 * command arg1 key=value key=(1,2,3)
 * optional input lines
 * ----
 * expected output lines
 * ```
 *
 * A block's expected output ends at the first blank line (or the end of the file), so output
 * never contains blank lines. Lines starting with `#` and blank lines between blocks are kept
 * verbatim when the file is rewritten: only the expected outputs are replaced.
 */

/** One `command` / `----` / output block of a scenario file. */
export interface Block {
  /** 1-based line number of the command line (for error messages: `file:line`). */
  readonly line: number;
  /** The command line as written. */
  readonly command: string;
  /** Input lines between the command and the `----` separator. */
  readonly input: readonly string[];
  /** The expected output lines. */
  readonly expected: readonly string[];
  /** 0-based [start, end) line range of the expected output in the file (for rewriting). */
  readonly outputStart: number;
  readonly outputEnd: number;
}

export const SEPARATOR = '----';

/** Parses a scenario file. Throws with `file:line` on a block without a separator. */
export function parseScenario(text: string, file = '<scenario>'): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i] as string;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    const commandLine = i;
    const input: string[] = [];
    i++;
    while (i < lines.length && (lines[i] as string).trim() !== SEPARATOR) {
      const l = lines[i] as string;
      if (l.trim() === '')
        throw new Error(`${file}:${commandLine + 1}: '${trimmed}' has no '${SEPARATOR}' line`);
      input.push(l);
      i++;
    }
    if (i >= lines.length)
      throw new Error(`${file}:${commandLine + 1}: '${trimmed}' has no '${SEPARATOR}' line`);
    i++; // the separator
    const outputStart = i;
    while (i < lines.length && (lines[i] as string) !== '') i++;
    blocks.push({
      line: commandLine + 1,
      command: trimmed,
      input,
      expected: lines.slice(outputStart, i),
      outputStart,
      outputEnd: i,
    });
  }
  return blocks;
}

/**
 * Returns `text` with every block's expected output replaced by `outputs[k]` (one entry per
 * block, in order). Comments, commands and spacing are kept as they are.
 */
export function rewriteScenario(
  text: string,
  blocks: readonly Block[],
  outputs: readonly string[][],
): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let pos = 0;
  blocks.forEach((b, k) => {
    out.push(...lines.slice(pos, b.outputStart));
    out.push(...(outputs[k] ?? []));
    pos = b.outputEnd;
  });
  out.push(...lines.slice(pos));
  return out.join('\n');
}

/** A parsed command line: the name, positional arguments and `key=value` arguments. */
export interface CommandLine {
  readonly name: string;
  readonly positional: readonly string[];
  readonly named: ReadonlyMap<string, string>;
}

/** Splits `cmd a b k=v k2=(1,2)` into its parts. Values in parentheses may not contain spaces. */
export function parseCommandLine(line: string): CommandLine {
  const tokens = line.split(/\s+/).filter((t) => t.length > 0);
  const [name, ...rest] = tokens;
  if (name === undefined) throw new Error('empty command');
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const t of rest) {
    const eq = t.indexOf('=');
    if (eq > 0) named.set(t.slice(0, eq), t.slice(eq + 1));
    else positional.push(t);
  }
  return { name, positional, named };
}
