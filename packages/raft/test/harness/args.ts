import type { NodeId } from '@flotilla/raft';
import type { CommandLine } from './datadriven.js';

/**
 * Typed access to a command's arguments. Every named argument must be read by the handler
 * (`finish()` refuses leftovers), so a typo in a scenario file fails loudly instead of being
 * silently ignored.
 */
export class Args {
  readonly name: string;
  readonly positional: readonly string[];
  readonly input: readonly string[];
  readonly #named: ReadonlyMap<string, string>;
  readonly #used = new Set<string>();

  constructor(cmd: CommandLine, input: readonly string[]) {
    this.name = cmd.name;
    this.positional = cmd.positional;
    this.#named = cmd.named;
    this.input = input;
  }

  has(key: string): boolean {
    return this.#named.has(key);
  }

  /** The raw value of `key`, or undefined (marks it used). */
  str(key: string): string | undefined {
    this.#used.add(key);
    return this.#named.get(key);
  }

  /** A non-negative integer argument. */
  int(key: string): number | undefined;
  int(key: string, dflt: number): number;
  int(key: string, dflt?: number): number | undefined {
    const v = this.str(key);
    if (v === undefined) return dflt;
    return parseNonNegative(v, `${this.name} ${key}`);
  }

  /** A boolean argument (`true`/`false`; a bare `key=` is an error). */
  bool(key: string, dflt: boolean): boolean {
    const v = this.str(key);
    if (v === undefined) return dflt;
    if (v !== 'true' && v !== 'false')
      throw new Error(`${this.name}: ${key} must be true or false, got ${v}`);
    return v === 'true';
  }

  /** A list argument `(1,2,3)` (parentheses optional) of non-negative integers. */
  ints(key: string): number[] | undefined {
    const v = this.str(key);
    if (v === undefined) return undefined;
    return splitList(v).map((x) => parseNonNegative(x, `${this.name} ${key}`));
  }

  /** A list argument `(a,b)` of words. */
  words(key: string): string[] | undefined {
    const v = this.str(key);
    return v === undefined ? undefined : splitList(v);
  }

  /** The positional arguments as node ids. */
  ids(): NodeId[] {
    return this.positional.map((p) => parseId(p, this.name));
  }

  /** Exactly `n` positional arguments as node ids. */
  idsExactly(n: number): NodeId[] {
    const ids = this.ids();
    if (ids.length !== n) throw new Error(`${this.name}: expected ${n} node id(s), got ${ids.length}`);
    return ids;
  }

  /** Throws when a named argument was given that the handler did not read. */
  finish(): void {
    for (const k of this.#named.keys()) {
      if (!this.#used.has(k)) throw new Error(`${this.name}: unknown argument ${k}`);
    }
  }
}

function splitList(v: string): string[] {
  const inner = v.startsWith('(') && v.endsWith(')') ? v.slice(1, -1) : v;
  return inner.length === 0 ? [] : inner.split(',').map((s) => s.trim());
}

function parseNonNegative(v: string, what: string): number {
  if (!/^\d+$/.test(v)) throw new Error(`${what}: expected a non-negative integer, got ${v}`);
  return Number(v);
}

/** Parses a node id (a positive integer). */
export function parseId(v: string, what: string): NodeId {
  const n = parseNonNegative(v, what);
  if (n === 0) throw new Error(`${what}: node id must be positive`);
  return n;
}
