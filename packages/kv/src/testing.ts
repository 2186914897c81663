/**
 * `@flotilla/kv/testing`: test-only fault switches for the KV node (see `faults.ts`), used by the
 * verification suite to prove its checkers catch stale reads and lossy watch resumption. Never
 * import this from production code: nothing here is reachable through `KvNodeOptions`.
 *
 * @packageDocumentation
 */
import { createKvNode } from './create.js';
import { armKvFaults, type KvFaults } from './faults.js';
import type { KvNode } from './node.js';
import type { KvNodeOptions } from './options.js';

export { armKvFaults, type KvFaults } from './faults.js';

/**
 * `createKvNode` with test-only fault switches armed on the new node before it serves anything.
 *
 * @example
 * ```ts
 * const node = await createKvNodeForTesting(options, { readsSkipReadIndex: true });
 * ```
 */
export async function createKvNodeForTesting(options: KvNodeOptions, faults: KvFaults): Promise<KvNode> {
  const node = await createKvNode(options);
  armKvFaults(node, faults);
  return node;
}
