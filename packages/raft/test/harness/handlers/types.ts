import type { Args } from '../args.js';
import type { InteractionEnv } from '../env.js';

/** A scenario command: reads its arguments, acts on the environment, prints to `env.out`. */
export type Handler = (env: InteractionEnv, args: Args) => void;
