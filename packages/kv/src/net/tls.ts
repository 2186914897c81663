/**
 * TLS for the client protocol (optional). The server presents a certificate; with `ca` and
 * `requireClientCert` it also demands one from clients signed by that CA (etcd's
 * `--client-cert-auth`). The client checks the server's certificate against its `ca` and the
 * host it dialled, so certificates need a `subjectAltName` for the IP or name clients use
 * (transport-tcp's README shows the `openssl` commands).
 */
import { invalid } from '../errors.js';

/** PEM material: a string or the file's bytes. */
export type Pem = string | Buffer;

/** Server-side TLS of a `KvServer`. */
export interface KvServerTlsOptions {
  readonly key: Pem;
  readonly cert: Pem;
  /** CA(s) client certificates must be signed by (needed with `requireClientCert`). */
  readonly ca?: Pem | readonly Pem[];
  /** Demand a client certificate (etcd's `--client-cert-auth`). Default false. */
  readonly requireClientCert?: boolean;
}

/** Client-side TLS of a `KvClient`. */
export interface KvClientTlsOptions {
  /** CA(s) the server's certificate must be signed by. Default: Node's bundled public CAs. */
  readonly ca?: Pem | readonly Pem[];
  /** A client certificate and key, for servers that demand one. */
  readonly cert?: Pem;
  readonly key?: Pem;
  /** The name to check the server's certificate against (default: the endpoint's host). */
  readonly servername?: string;
}

function isPem(v: unknown): v is Pem {
  return typeof v === 'string' || Buffer.isBuffer(v);
}

function checkCa(v: unknown): void {
  if (v === undefined) return;
  if (isPem(v) || (Array.isArray(v) && v.every(isPem))) return;
  throw invalid('tls.ca must be PEM (a string or Buffer) or an array of them');
}

/** Checks a server's TLS options (`INVALID_ARGUMENT` otherwise). */
export function checkServerTls(tls: unknown): KvServerTlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null) throw invalid('tls must be an object');
  const t = tls as KvServerTlsOptions;
  if (!isPem(t.key) || !isPem(t.cert)) throw invalid('tls needs key and cert (PEM)');
  checkCa(t.ca);
  if (t.requireClientCert !== undefined && typeof t.requireClientCert !== 'boolean') {
    throw invalid('tls.requireClientCert must be a boolean');
  }
  if (t.requireClientCert === true && t.ca === undefined) {
    throw invalid('tls.requireClientCert needs tls.ca to check client certificates against');
  }
  return t;
}

/** Checks a client's TLS options (`INVALID_ARGUMENT` otherwise). */
export function checkClientTls(tls: unknown): KvClientTlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null) throw invalid('tls must be an object');
  const t = tls as KvClientTlsOptions;
  checkCa(t.ca);
  if ((t.cert === undefined) !== (t.key === undefined)) throw invalid('tls.cert and tls.key go together');
  if (t.cert !== undefined && (!isPem(t.cert) || !isPem(t.key)))
    throw invalid('tls.cert and tls.key must be PEM');
  if (t.servername !== undefined && typeof t.servername !== 'string') {
    throw invalid('tls.servername must be a string');
  }
  return t;
}
