import type { Logger } from '@flotilla/raft';

/**
 * Log levels a scenario can choose with `log-level`. The harness's own output (Readies,
 * messages, states) prints at every level but `none`, which silences everything — handy to set
 * up a cluster quietly, as etcd's scenario files do.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'none';

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3, none: 4 };

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

/**
 * The text a command prints, with a current indentation so nested output (a node handling a
 * Ready, the log lines a delivered message caused) reads as a tree.
 */
export class Output {
  readonly lines: string[] = [];
  #indent = '';
  level: LogLevel = 'info';

  /** Writes each line of `text` at the current indentation (nothing at level `none`). */
  write(text: string): void {
    if (this.level === 'none') return;
    for (const l of text.split('\n')) this.lines.push(`${this.#indent}${l}`);
  }

  /** Runs `fn` with the indentation deepened by two spaces. */
  nested<T>(fn: () => T): T {
    const saved = this.#indent;
    this.#indent += '  ';
    try {
      return fn();
    } finally {
      this.#indent = saved;
    }
  }

  /** Takes everything written so far (the output of one command). */
  take(): string[] {
    return this.lines.splice(0);
  }

  /** A core logger printing `LEVEL message` lines at or above the chosen level. */
  logger(): Logger {
    const at =
      (level: Exclude<LogLevel, 'none'>, tag: string) =>
      (message: string): void => {
        if (RANK[level] >= RANK[this.level]) this.write(`${tag} ${message}`);
      };
    return {
      debug: at('debug', 'DEBUG'),
      info: at('info', 'INFO'),
      warn: at('warn', 'WARN'),
      error: at('error', 'ERROR'),
    };
  }
}
