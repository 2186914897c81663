import { verdictLine } from '../result.js';
import type { WatchResult } from './check.js';

/** The human explanation of a watch result: one line per anomaly, grouped by type. */
export function formatWatches(result: WatchResult): string {
  const s = result.stats;
  const lines = [
    verdictLine('watch (complete, in order, no duplicates, matching the history)', result.valid),
    `  ${s.watchers} watchers, ${s.sessions} sessions, ${s.events} events; ` +
      `${s.committedChanges} committed changes in the history, ${s.inferredChanges} info writes shown committed`,
  ];
  const byType = new Map<string, string[]>();
  for (const a of result.anomalies) byType.set(a.type, [...(byType.get(a.type) ?? []), a.message]);
  for (const [type, messages] of byType) {
    lines.push(`${type} (${messages.length}):`);
    for (const m of messages.slice(0, 20)) lines.push(`  ${m}`);
    if (messages.length > 20) lines.push(`  ... and ${messages.length - 20} more`);
  }
  return lines.join('\n');
}
