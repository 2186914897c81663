/**
 * The Raft lab demo (`pnpm start` at the repository root): a three-member cluster in one
 * process, narrated. Deterministic: `--seed N` picks another story (default 7).
 */
import { runStory } from './story.js';

const k = process.argv.indexOf('--seed');
const seed = k >= 0 ? Number(process.argv[k + 1]) : 7;
if (!Number.isSafeInteger(seed)) {
  console.error('usage: demo.ts [--seed N]');
  process.exit(2);
}
runStory({ seed, print: (line) => console.log(line) });
