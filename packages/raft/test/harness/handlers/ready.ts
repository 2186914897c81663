import type { Args } from '../args.js';
import type { InteractionEnv } from '../env.js';
import { deliverTo } from './deliver.js';

/**
 * `process-ready [ids...]`: each listed node (default: all) handles one Ready if it has one —
 * persist, send (the messages join the network queue), apply, advance — and prints it.
 */
export function processReady(env: InteractionEnv, args: Args): void {
  args.finish();
  const explicit = args.positional.length > 0;
  for (const id of env.idsOrAll(args.ids())) {
    const h = env.node(id);
    if (h.down || !h.node.hasReady()) {
      if (explicit) env.out.write(`> ${id} has no Ready`);
      continue;
    }
    env.out.write(`> ${id} handling Ready`);
    env.out.nested(() => env.processReady(id));
  }
}

/**
 * `stabilize [ids...]`: repeats "every listed node (default: all) handles its Ready, then every
 * queued message to a listed node is delivered" until nothing is left to do, printing
 * everything. The usual way to let a scenario run to quiescence.
 */
export function stabilize(env: InteractionEnv, args: Args): void {
  args.finish();
  const ids = env.idsOrAll(args.ids());
  for (let round = 0; ; round++) {
    if (round > 1000) throw new Error('stabilize: no quiescence after 1000 rounds');
    let busy = false;
    for (const id of ids) {
      const h = env.node(id);
      if (h.down || !h.node.hasReady()) continue;
      busy = true;
      env.out.write(`> ${id} handling Ready`);
      env.out.nested(() => env.processReady(id));
    }
    if (deliverTo(env, ids, () => true)) busy = true;
    if (!busy) return;
  }
}
