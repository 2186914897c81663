import { formatLeases, type LeaseResult } from './lease/check.js';
import type { LinearizabilityResult } from './linearizability/check.js';
import { formatLinearizability } from './linearizability/format.js';
import type { ListAppendResult } from './list-append/check.js';
import { formatListAppend } from './list-append/format.js';
import { formatLocks, type LockResult } from './lock/check.js';
import type { WatchResult } from './watch/check.js';
import { formatWatches } from './watch/format.js';

/** A result of any of the checkers, told apart by `checker`. */
export type AnyCheckResult =
  | LinearizabilityResult
  | ListAppendResult
  | WatchResult
  | LockResult
  | LeaseResult;

/** The human explanation of any checker's result (what a failing run writes next to its history). */
export function formatCheckResult(result: AnyCheckResult): string {
  switch (result.checker) {
    case 'linearizability':
      return formatLinearizability(result);
    case 'list-append':
      return formatListAppend(result);
    case 'watch':
      return formatWatches(result);
    case 'lock':
      return formatLocks(result);
    case 'lease':
      return formatLeases(result);
  }
}
