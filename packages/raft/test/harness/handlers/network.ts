import type { NodeId } from '@flotilla/raft';
import type { Args } from '../args.js';
import type { InteractionEnv } from '../env.js';

function key(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function printCuts(env: InteractionEnv): void {
  const cuts = [...env.cuts].sort();
  env.out.write(cuts.length === 0 ? 'network healed' : `cut links: ${cuts.join(' ')}`);
}

/**
 * `partition (1,2) (3,4,5)`: splits the network into the listed groups (nodes not listed form
 * one more group); messages between groups are dropped on delivery until `heal`.
 */
export function partition(env: InteractionEnv, args: Args): void {
  args.finish();
  const groups = args.positional.map((g) => {
    const inner = g.startsWith('(') && g.endsWith(')') ? g.slice(1, -1) : g;
    return inner.split(',').map((x) => {
      const id = Number(x);
      env.node(id);
      return id;
    });
  });
  const listed = new Set(groups.flat());
  const rest = env.ids().filter((id) => !listed.has(id));
  if (rest.length > 0) groups.push(rest);
  const groupOf = new Map<NodeId, number>();
  groups.forEach((g, k) => {
    for (const id of g) groupOf.set(id, k);
  });
  for (const a of env.ids()) {
    for (const b of env.ids()) {
      if (a < b && groupOf.get(a) !== groupOf.get(b)) env.cuts.add(key(a, b));
    }
  }
  printCuts(env);
}

/** `isolate <id>`: cuts every link of node `id`. */
export function isolate(env: InteractionEnv, args: Args): void {
  args.finish();
  const [id] = args.idsExactly(1);
  for (const other of env.ids()) if (other !== id) env.cuts.add(key(id as number, other));
  printCuts(env);
}

/** `heal`: restores every link. */
export function heal(env: InteractionEnv, args: Args): void {
  args.finish();
  env.cuts.clear();
  printCuts(env);
}

/** `cut <a> <b>`: cuts the single link between `a` and `b` (a partial partition). */
export function cut(env: InteractionEnv, args: Args): void {
  args.finish();
  const [a, b] = args.idsExactly(2);
  env.cuts.add(key(a as number, b as number));
  printCuts(env);
}
