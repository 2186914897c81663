/**
 * What `flotilla` prints: etcdctl's "simple" format for people (keys and values as text, one
 * per line) or `-w json` for programs (the response objects as they are, bytes in base64 as in
 * etcdctl's JSON, numbers as numbers).
 */
import type { KeyValue, WatchEvent } from '@flotilla/mvcc';
import { invalid } from '../errors.js';

/** Output format. */
export type Format = 'simple' | 'json';

/** Parses `-w`. */
export function parseFormat(v: string | undefined): Format {
  if (v === undefined || v === 'simple') return 'simple';
  if (v === 'json') return 'json';
  throw invalid(`--write-out must be simple or json, got ${JSON.stringify(v)}`);
}

/** Bytes as text (invalid UTF-8 shows replacement characters; use -w json for exact bytes). */
export function text(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** JSON with every byte array as a base64 string. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x instanceof Uint8Array
      ? Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64')
      : // Buffer.toJSON runs before the replacer sees it: turn its {type,data} back into base64.
        typeof x === 'object' &&
          x !== null &&
          (x as { type?: unknown }).type === 'Buffer' &&
          Array.isArray((x as { data?: unknown }).data)
        ? Buffer.from((x as { data: number[] }).data).toString('base64')
        : x,
  );
}

/** Where output goes (stdout by default; tests of the formatting pass their own). */
export interface Output {
  readonly format: Format;
  /** One line of simple output. */
  line(s: string): void;
  /** One JSON document (one line). */
  json(v: unknown): void;
}

/** An {@link Output} on stdout. */
export function stdout(format: Format): Output {
  return {
    format,
    line: (s) => {
      process.stdout.write(`${s}\n`);
    },
    json: (v) => {
      process.stdout.write(`${toJson(v)}\n`);
    },
  };
}

/** The simple lines of one kv: key, then value (etcdctl's `get` format). */
export function kvLines(kv: KeyValue, o: { keysOnly?: boolean; valueOnly?: boolean } = {}): string[] {
  if (o.valueOnly === true) return [text(kv.value)];
  if (o.keysOnly === true) return [text(kv.key)];
  return [text(kv.key), text(kv.value)];
}

/** The simple lines of one watch event (etcdctl's `watch` format). */
export function eventLines(e: WatchEvent, prevKv: boolean): string[] {
  const lines = [e.type === 'put' ? 'PUT' : 'DELETE'];
  if (prevKv && e.prevKv !== undefined) lines.push(text(e.prevKv.key), text(e.prevKv.value));
  lines.push(text(e.kv.key));
  if (e.type === 'put') lines.push(text(e.kv.value));
  return lines;
}

/** A table with a header row, columns padded (etcdctl's `-w table`, used for status and members). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)];
}
