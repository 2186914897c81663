/**
 * Runs the lock-fencing story (see `index.ts` for why it matters):
 *
 *   pnpm --filter @flotilla/example-lock-fencing start
 */
import { runExample } from './index.js';

const outcome = await runExample();
process.exit(outcome.staleWriteStatus === 409 && outcome.writeB === 200 ? 0 : 1);
