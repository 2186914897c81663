/**
 * `@flotilla/kv/client`: the network half of `@flotilla/kv`: `KvServer` (serves a member to
 * other processes), `KvClient` (the `KvApi` of a cluster over the network), the `/metrics` and
 * `/health` HTTP endpoint, and the protocol's constants. See `protocol.ts` for the wire format.
 *
 * @example
 * ```ts
 * import { KvClient } from '@flotilla/kv/client';
 *
 * const client = await KvClient.connect({ endpoints: ['127.0.0.1:2379', '127.0.0.1:22379'] });
 * const put = await client.put('greeting', 'hello');
 * console.log('written at revision', put.header.revision);
 * await client.close();
 * ```
 *
 * @packageDocumentation
 */
export { KvClient, type KvClientOptions } from './client.js';
export { parseEndpoint } from './client-connection.js';
export type { KeepAliveStream } from './client-keep-alive.js';
export type { SnapshotData } from './client-snapshot.js';
export type { ClientWatch } from './client-watch.js';
export { type NetErrorCode, netError } from './errors.js';
export { MetricsServer, type MetricsServerOptions, type MonitoredNode } from './http.js';
export {
  DEFAULT_MAX_INFLIGHT,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_MAX_STREAMS,
  FRAME_OVERHEAD_BYTES,
  METHODS,
  type Method,
  type MethodInfo,
  PROTOCOL_VERSION,
  STREAMS,
  type StreamKind,
} from './protocol.js';
export { KvServer, type KvServerOptions, type ServableNode } from './server.js';
export type { KvClientTlsOptions, KvServerTlsOptions, Pem } from './tls.js';
