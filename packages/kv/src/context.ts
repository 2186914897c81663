/**
 * The node's internals that its API modules (`cluster.ts`, `lease-api.ts`) work through, so
 * each concern lives in its own file while `KvNode` stays the one public object.
 */
import type { Clock, Logger, Replica } from '@flotilla/replica';
import type { RequestOptions, ResponseHeader } from './api.js';
import type { KvCommand } from './commands.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { ResolvedNodeOptions } from './options.js';
import type { Proposer } from './proposer.js';
import type { KvResult, KvStateMachine } from './state-machine.js';

/** What the cluster and lease calls need from their node (built by `KvNode`). */
export interface NodeContext {
  readonly id: number;
  readonly replica: Replica<KvResult>;
  readonly stateMachine: KvStateMachine;
  readonly clock: Clock;
  readonly proposer: Proposer;
  readonly logger: Logger;
  readonly options: ResolvedNodeOptions;
  readonly leases: LeaseKeeper;
  header(revision: number): ResponseHeader;
  readBarrier(req: RequestOptions): Promise<void>;
  propose(cmd: KvCommand, req: RequestOptions): Promise<KvResult>;
  checkOpen(): void;
  failure(): Error | undefined;
  stopped(): boolean;
  sawTerm(term: number): void;
  /** Runs a background task (given its `onDone`) that `stop()` cancels through its return value. */
  background(start: (onDone: () => void) => () => void): void;
}
