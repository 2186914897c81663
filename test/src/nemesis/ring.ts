/**
 * The `ring` partition shape, shared by the simulation and real-mode nemeses: each member sends
 * only to the next ⌊n/2⌋ members around the ring `order`; `cut(from, to)` removes every other
 * link. Returns what it did, for the nemesis log.
 */
export function majorityRing(order: readonly number[], cut: (from: number, to: number) => void): string {
  const n = order.length;
  const reach = Math.floor(n / 2);
  const links: string[] = [];
  for (let i = 0; i < n; i++) {
    const from = order[i] as number;
    const to: number[] = [];
    for (let d = 1; d < n; d++) {
      const other = order[(i + d) % n] as number;
      if (d <= reach) to.push(other);
      else cut(from, other);
    }
    links.push(`${from}->${to.join('/')}`);
  }
  return `majority ring ${links.join(' ')}`;
}
