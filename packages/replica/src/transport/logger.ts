/**
 * Structured fields attached to a log line (peer ids, error codes, addresses). Keys are stable
 * enough to filter on; values are plain data.
 */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Where Flotilla's components report what they cannot throw: a peer rejected at the handshake,
 * a malformed frame, a connection lost. Shaped so `console`-like and pino-like loggers adapt in
 * one line each.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger that discards everything. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/**
 * The default logger of components that take one: warnings and errors go to `console.warn` /
 * `console.error` with a `[flotilla:<name>]` prefix (a misconfigured cluster must be visible),
 * debug and info are dropped.
 */
export function consoleLogger(name: string): Logger {
  const prefix = `[flotilla:${name}]`;
  const line = (message: string, fields?: LogFields): string =>
    fields === undefined ? `${prefix} ${message}` : `${prefix} ${message} ${safeJson(fields)}`;
  return Object.freeze({
    debug() {},
    info() {},
    warn: (message: string, fields?: LogFields) => console.warn(line(message, fields)),
    error: (message: string, fields?: LogFields) => console.error(line(message, fields)),
  });
}

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return '{…}';
  }
}
