/**
 * The text form of a transaction `flotilla txn` reads from stdin, etcdctl's: three sections
 * separated by an empty line — compares, then the operations run if every compare holds, then
 * those run otherwise.
 *
 * ```text
 * mod("config/db") > "0"
 * val("config/db") = "postgres://db-1"
 *
 * put config/db "postgres://db-2"
 * get config/db
 *
 * put config/db "postgres://db-1"
 * ```
 *
 * Compares: `val|ver|create|mod|lease("key") =|!=|>|< "value"` (numbers for every target but
 * `val`). Operations: `put KEY VALUE`, `get KEY [RANGE_END]`, `del KEY [RANGE_END]`. Arguments
 * may be double-quoted with JSON escapes (`"a b\n"`).
 */
import type { Compare, CompareResult, Op, TxnRequest } from '@flotilla/mvcc';
import { invalid } from '../errors.js';

/** Splits a line into words; double-quoted words take JSON escapes. */
export function words(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (j >= line.length) throw invalid(`unterminated quote in ${JSON.stringify(line)}`);
      try {
        out.push(JSON.parse(line.slice(i, j + 1)) as string);
      } catch {
        throw invalid(`bad escape in ${line.slice(i, j + 1)}`);
      }
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < line.length && line[j] !== ' ' && line[j] !== '\t') j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

const TARGETS: Record<string, Compare['target']> = {
  val: 'value',
  value: 'value',
  ver: 'version',
  version: 'version',
  create: 'createRevision',
  mod: 'modRevision',
  lease: 'lease',
};
const RESULTS: Record<string, CompareResult> = {
  '=': 'equal',
  '!=': 'notEqual',
  '>': 'greater',
  '<': 'less',
};

/** One compare line. */
export function parseCompare(line: string): Compare {
  const m = /^\s*(\w+)\(\s*("(?:[^"\\]|\\.)*"|[^)\s]+)\s*\)\s*(!=|=|>|<)\s*(.+?)\s*$/.exec(line);
  if (m === null) throw invalid(`cannot read the compare ${JSON.stringify(line)}`);
  const target = TARGETS[m[1] as string];
  if (target === undefined) throw invalid(`unknown compare target ${m[1]} (val, ver, create, mod, lease)`);
  const [key] = words(m[2] as string);
  const [raw] = words(m[4] as string);
  const result = RESULTS[m[3] as string] as CompareResult;
  if (key === undefined || raw === undefined)
    throw invalid(`cannot read the compare ${JSON.stringify(line)}`);
  if (target === 'value') return { key, target, result, value: raw };
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw invalid(`${m[1]} compares need an integer, got ${JSON.stringify(raw)}`);
  return { key, target, result, value: n };
}

/** One operation line. */
export function parseOp(line: string): Op {
  const [verb, key, arg, extra] = words(line);
  if (key === undefined) throw invalid(`an operation needs a key: ${JSON.stringify(line)}`);
  switch (verb) {
    case 'put':
      if (arg === undefined || extra !== undefined)
        throw invalid(`put takes KEY VALUE: ${JSON.stringify(line)}`);
      return { put: { key, value: arg } };
    case 'get':
      return { range: arg === undefined ? { key } : { key, rangeEnd: arg } };
    case 'del':
    case 'delete':
      return { deleteRange: arg === undefined ? { key } : { key, rangeEnd: arg } };
    default:
      throw invalid(`unknown operation ${JSON.stringify(verb)} (put, get, del)`);
  }
}

/**
 * The whole text (see the module notes). Each empty line ends a section, as in etcdctl's
 * interactive mode: start with an empty line for a transaction without compares.
 */
export function parseTxnText(input: string): TxnRequest {
  const sections: string[][] = [[], [], []];
  let at = 0;
  for (const raw of input.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    if (line === '') {
      at++;
      continue;
    }
    const section = sections[at];
    if (section === undefined) throw invalid('a txn has three sections: compares, success, failure');
    section.push(line);
  }
  const [compares, success, failure] = sections as [string[], string[], string[]];
  return {
    compare: compares.map(parseCompare),
    success: success.map(parseOp),
    failure: failure.map(parseOp),
  };
}
