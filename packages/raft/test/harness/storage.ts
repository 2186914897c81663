import { MemoryStorage, RaftError, type Snapshot } from '@flotilla/raft';

/**
 * The scenario harness's storage: a {@link MemoryStorage} holding exactly what the harness has
 * "persisted", plus a switch that makes `snapshot()` fail with
 * `SNAPSHOT_TEMPORARILY_UNAVAILABLE` (etcd's ErrSnapshotTemporarilyUnavailable), so a scenario
 * can show the leader retrying later.
 */
export class HarnessStorage extends MemoryStorage {
  snapshotUnavailable = false;

  override snapshot(): Snapshot {
    if (this.snapshotUnavailable) {
      throw new RaftError('SNAPSHOT_TEMPORARILY_UNAVAILABLE', 'snapshot is temporarily unavailable');
    }
    return super.snapshot();
  }
}
