import { show, verdictLine } from '../result.js';
import type { ListAppendAnomaly } from './anomalies.js';
import type { ListAppendResult } from './check.js';
import { describeTxn } from './txns.js';

function formatAnomaly(a: ListAppendAnomaly): string[] {
  switch (a.type) {
    case 'G0':
    case 'G1c':
    case 'G-single':
    case 'G2':
    case 'G0-realtime':
    case 'G1c-realtime':
    case 'G-single-realtime':
    case 'G2-realtime': {
      const lines = [`  ${a.message}`];
      for (const step of a.cycle.slice(0, 40)) {
        lines.push(`    ${describeTxn(step.from)}`);
        lines.push(`      -${step.edge}-> T${step.to.id}: ${step.why}`);
      }
      if (a.cycle.length > 40) lines.push(`    ... ${a.cycle.length - 40} more edges`);
      return lines;
    }
    case 'G1a':
    case 'G1b':
      return [
        `  ${a.message}`,
        `    reader: ${describeTxn(a.reader)}`,
        `    writer: ${describeTxn(a.writer)}`,
      ];
    case 'lost-append':
      return [
        `  ${a.message}`,
        `    writer: ${describeTxn(a.writer)}`,
        `    reader: ${describeTxn(a.reader)}`,
      ];
    case 'lost-update':
      return [`  ${a.message}`, ...a.txns.map((t) => `    ${describeTxn(t)}`)];
    case 'incompatible-order':
      return [`  ${a.message}`, ...a.reads.map((r) => `    ${describeTxn(r.txn)}`)];
    case 'duplicate-elements':
    case 'garbage-read':
      return [`  ${a.message}`, `    reader: ${describeTxn(a.reader)}`];
    case 'internal':
      return [`  ${a.message}`, `    ${describeTxn(a.txn)}`];
  }
}

const SEVERITY: readonly string[] = [
  'G0',
  'G1a',
  'G1b',
  'G1c',
  'internal',
  'duplicate-elements',
  'garbage-read',
  'incompatible-order',
  'G-single',
  'lost-update',
  'G2',
  'lost-append',
  'G0-realtime',
  'G1c-realtime',
  'G-single-realtime',
  'G2-realtime',
];

/** The human explanation of a list-append result: anomalies grouped by type, cycles edge by edge. */
export function formatListAppend(result: ListAppendResult): string {
  const s = result.stats;
  const lines = [
    verdictLine('list-append (strict serializability, Elle-style)', result.valid),
    `  ${s.txns} txns (${s.ok} ok, ${s.fail} fail, ${s.info} info) over ${s.keys} keys; ` +
      `${s.edges} dependent pairs (ww ${s.ww}, wr ${s.wr}, rw ${s.rw}, rt ${s.rt}); ${s.ignored} other operations ignored`,
  ];
  const byType = new Map<string, ListAppendAnomaly[]>();
  for (const a of result.anomalies) byType.set(a.type, [...(byType.get(a.type) ?? []), a]);
  const types = [...byType.keys()].sort((x, y) => SEVERITY.indexOf(x) - SEVERITY.indexOf(y));
  for (const t of types) {
    const group = byType.get(t) ?? [];
    lines.push(`${t} (${group.length}):`);
    for (const a of group.slice(0, 10)) lines.push(...formatAnomaly(a));
    if (group.length > 10) lines.push(`  ... and ${group.length - 10} more ${show(t)} anomalies`);
  }
  return lines.join('\n');
}
