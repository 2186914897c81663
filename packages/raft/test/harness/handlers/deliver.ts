import { describeMessage, type NetworkMessage, type NodeId } from '@flotilla/raft';
import type { Args } from '../args.js';
import type { InteractionEnv } from '../env.js';

type Filter = (m: NetworkMessage) => boolean;

/** Reads the `type=(..)` and `from=(..)` message filters shared by deliver-msgs and drop. */
function filter(args: Args): Filter {
  const types = args.words('type');
  const from = args.ints('from');
  return (m) =>
    (types === undefined || types.includes(m.type)) && (from === undefined || from.includes(m.from));
}

/** Delivers the queued messages to `ids` that match, grouped by recipient. Returns whether any. */
export function deliverTo(env: InteractionEnv, ids: readonly NodeId[], match: Filter): boolean {
  let any = false;
  for (const id of ids) {
    const msgs = env.takeMessages((m) => m.to === id && match(m));
    if (msgs.length === 0) continue;
    any = true;
    env.out.write(`> ${id} receiving messages`);
    env.out.nested(() => {
      for (const m of msgs) env.deliver(m);
    });
  }
  return any;
}

/**
 * `deliver-msgs [ids...] [drop=(ids)] [type=(app,heartbeat)] [from=(ids)]`: first drops the
 * queued messages addressed to the `drop` nodes, then delivers the queued messages addressed to
 * the listed nodes (default: every other node), grouped by recipient, in send order. The `type`
 * and `from` filters restrict both; messages they exclude stay queued. Messages over a cut link
 * or to a crashed node are dropped on delivery.
 */
export function deliverMsgs(env: InteractionEnv, args: Args): void {
  const drop = new Set(args.ints('drop') ?? []);
  const match = filter(args);
  args.finish();
  for (const m of env.takeMessages((m) => drop.has(m.to) && match(m))) {
    env.out.write(`dropped: ${describeMessage(m)}`);
  }
  const listed = args.ids();
  const to = listed.length > 0 ? env.idsOrAll(listed) : env.ids().filter((id) => !drop.has(id));
  deliverTo(env, to, match);
}

/**
 * `drop [from=(ids)] [to=(ids)] [type=(..)]`: removes the matching queued messages (all when no
 * filter is given) without delivering them — the network lost them.
 */
export function drop(env: InteractionEnv, args: Args): void {
  const to = args.ints('to');
  const match = filter(args);
  args.finish();
  const lost = env.takeMessages((m) => (to === undefined || to.includes(m.to)) && match(m));
  for (const m of lost) env.out.write(`dropped: ${describeMessage(m)}`);
}
