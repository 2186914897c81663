/**
 * Counts of the process's active resources (sockets, servers, timers) by type, from
 * `process.getActiveResourcesInfo()`. `Immediate`s are left out: waiting for the counts to
 * settle takes one itself.
 */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (type === 'Immediate') continue;
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

/** The resource types whose count is above `baseline`, as `type: now > before` strings. */
export function leakedResources(baseline: ReadonlyMap<string, number>): string[] {
  const leaks: string[] = [];
  for (const [type, n] of activeResources()) {
    const before = baseline.get(type) ?? 0;
    if (n > before) leaks.push(`${type}: ${n} > ${before}`);
  }
  return leaks;
}

/**
 * Resolves once no resource type counts more than in `baseline` (closing a socket finishes a
 * few event-loop turns after `destroy`); rejects naming the leaks after `timeoutMs`.
 */
export function resourcesSettled(baseline: ReadonlyMap<string, number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const leaks = leakedResources(baseline);
      if (leaks.length === 0) resolve();
      else if (Date.now() > deadline)
        reject(new Error(`resources still held after close: ${leaks.join(', ')}`));
      else setImmediate(check);
    };
    check();
  });
}
