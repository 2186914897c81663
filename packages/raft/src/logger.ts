/**
 * The logger the Raft core reports to. Four levels, plain strings: the core logs rare events
 * (elections, role changes, rejected appends, conf changes, dropped proposals) and never logs on
 * the replication hot path, so a logger costs nothing while the cluster is healthy.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const noop = (): void => {};

/** The default logger: drops everything. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
