/**
 * What a client command runs with: the output, a client built from the global options
 * (connected on first use, closed at the end), stdin, and a promise that settles on Ctrl-C or
 * SIGTERM so long-running commands (watch, lock, elect, keep-alive) end cleanly.
 */
import { readFileSync } from 'node:fs';
import { invalid } from '../errors.js';
import { KvClient, type KvClientOptions } from '../net/client.js';
import type { KvClientTlsOptions } from '../net/tls.js';
import { parseDuration, str, type Values } from './args.js';
import { type Output, parseFormat, stdout } from './output.js';

/** The context of one command. */
export interface CliContext {
  readonly out: Output;
  /** The endpoints of `--endpoints`. */
  readonly endpoints: readonly string[];
  /** The per-request deadline of `--timeout`, ms. */
  readonly timeoutMs: number;
  /** A client over every endpoint (connected once, reused). */
  client(): Promise<KvClient>;
  /** A client of one endpoint only (for per-member commands such as `status`). */
  clientOf(endpoint: string): Promise<KvClient>;
  /** All of stdin, as text. */
  stdin(): Promise<string>;
  /** Settles once SIGINT or SIGTERM arrives. */
  readonly interrupted: Promise<void>;
  /** Closes every client opened. */
  close(): Promise<void>;
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw invalid(`cannot read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Builds the context from the global options. */
export function createContext(values: Values): CliContext {
  const out = stdout(parseFormat(str(values, 'write-out')));
  const endpoints = (str(values, 'endpoints') ?? '127.0.0.1:2379')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0) throw invalid('--endpoints is empty');
  const t = str(values, 'timeout');
  const timeoutMs = t === undefined ? 5000 : parseDuration(t, '--timeout');
  const dt = str(values, 'dial-timeout');
  const ca = readPem(str(values, 'tls-ca'), '--tls-ca');
  const cert = readPem(str(values, 'tls-cert'), '--tls-cert');
  const key = readPem(str(values, 'tls-key'), '--tls-key');
  const tls: KvClientTlsOptions | undefined =
    ca === undefined && cert === undefined
      ? undefined
      : {
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
        };
  const clusterId = str(values, 'cluster-id');
  const base = (eps: readonly string[]): KvClientOptions => ({
    endpoints: eps,
    timeoutMs,
    ...(dt === undefined ? {} : { dialTimeoutMs: parseDuration(dt, '--dial-timeout') }),
    ...(tls === undefined ? {} : { tls }),
    ...(clusterId === undefined ? {} : { clusterId }),
  });
  const opened: KvClient[] = [];
  let shared: Promise<KvClient> | undefined;
  const open = async (eps: readonly string[]): Promise<KvClient> => {
    const c = await KvClient.connect(base(eps));
    opened.push(c);
    return c;
  };
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  return {
    out,
    endpoints,
    timeoutMs,
    client: () => {
      shared ??= open(endpoints);
      return shared;
    },
    clientOf: (endpoint) => open([endpoint]),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    interrupted,
    close: async () => {
      await Promise.all(opened.map((c) => c.close()));
    },
  };
}
