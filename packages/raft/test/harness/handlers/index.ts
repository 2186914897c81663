import { addNodes } from './add-nodes.js';
import { deliverMsgs, drop } from './deliver.js';
import { applied, describe, logLevel, raftLog, raftState, status } from './inspect.js';
import { cut, heal, isolate, partition } from './network.js';
import { propose, proposeConfChange } from './propose.js';
import { processReady, stabilize } from './ready.js';
import {
  campaign,
  forgetLeader,
  readIndex,
  reportSnapshot,
  reportUnreachable,
  transferLeader,
} from './requests.js';
import { compact, crash, restart, snapshot, snapshotUnavailable } from './storage.js';
import { tick, tickElection, tickHeartbeat } from './tick.js';
import type { Handler } from './types.js';

/** Every scenario command, by name. */
export const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['add-nodes', addNodes],
  ['campaign', campaign],
  ['propose', propose],
  ['propose-conf-change', proposeConfChange],
  ['process-ready', processReady],
  ['deliver-msgs', deliverMsgs],
  ['drop', drop],
  ['stabilize', stabilize],
  ['tick', tick],
  ['tick-heartbeat', tickHeartbeat],
  ['tick-election', tickElection],
  ['partition', partition],
  ['isolate', isolate],
  ['heal', heal],
  ['cut', cut],
  ['transfer-leader', transferLeader],
  ['forget-leader', forgetLeader],
  ['read-index', readIndex],
  ['report-unreachable', reportUnreachable],
  ['report-snapshot', reportSnapshot],
  ['snapshot', snapshot],
  ['compact', compact],
  ['snapshot-unavailable', snapshotUnavailable],
  ['crash', crash],
  ['restart', restart],
  ['status', status],
  ['describe', describe],
  ['raft-log', raftLog],
  ['raft-state', raftState],
  ['applied', applied],
  ['log-level', logLevel],
]);
