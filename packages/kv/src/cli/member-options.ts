/**
 * The options of `flotilla member` (kept apart from `member.ts` so that the client commands'
 * help does not load the node).
 */
import type { CommandSpec } from './args.js';

/** The `member` command's help and options (`member.ts` runs it). */
export const memberOptions: Omit<CommandSpec<unknown>, 'run'> = {
  path: ['member'],
  args: '',
  summary: 'Runs a cluster member in this process until SIGTERM/SIGINT.',
  details: [
    'Example (three members on one machine; run each in its own shell):',
    '  flotilla member --name n1 --id 1 --data-dir /tmp/n1 --listen-peer 127.0.0.1:2380 \\',
    '    --listen-client 127.0.0.1:2379 --initial-cluster 1=127.0.0.1:2380,2=127.0.0.1:12380,3=127.0.0.1:22380',
    '',
    'Every member serves every request: writes sent to a follower are forwarded to the leader',
    'through Raft, linearizable reads use ReadIndex where they arrive.',
  ].join('\n'),
  local: true,
  options: {
    name: { type: 'string', arg: 'NAME', help: 'human-readable name (default member-ID)' },
    id: { type: 'string', arg: 'ID', help: 'member id, a positive integer (required)' },
    'data-dir': { type: 'string', arg: 'DIR', help: 'WAL and snapshots (required)' },
    'listen-peer': {
      type: 'string',
      arg: 'HOST:PORT',
      help: 'peer address; must match --initial-cluster (required)',
    },
    'listen-client': {
      type: 'string',
      arg: 'HOST:PORT',
      help: 'client address; port 0 picks one (required)',
    },
    'advertise-client': { type: 'string', arg: 'HOST:PORT', help: 'client address published to the cluster' },
    'initial-cluster': {
      type: 'string',
      arg: 'ID=HOST:PORT,...',
      help: 'every member id and peer address (required)',
    },
    'initial-cluster-state': {
      type: 'string',
      arg: 'STATE',
      help: 'new (found a cluster) or existing (join after member add)',
    },
    'cluster-id': {
      type: 'string',
      arg: 'ID',
      help: 'cluster id checked by peers and clients (default flotilla)',
    },
    metrics: { type: 'string', arg: 'HOST:PORT', help: 'serve /metrics and /health here' },
    'info-file': {
      type: 'string',
      arg: 'FILE',
      help: 'write {pid, id, name, client, peer, metrics} as JSON once up',
    },
    'log-level': {
      type: 'string',
      arg: 'LEVEL',
      help: 'debug, info (default), warn or error; logs go to stderr',
    },
    'tick-ms': { type: 'string', arg: 'MS', help: "Raft tick (default 100, etcd's heartbeat interval)" },
    'election-ticks': { type: 'string', arg: 'N', help: 'election timeout in ticks (default 10)' },
    'snapshot-count': { type: 'string', arg: 'N', help: 'applied entries between snapshots (default 10000)' },
    'max-request-bytes': { type: 'string', arg: 'N', help: "largest request (default 1572864, etcd's)" },
    'tls-cert': { type: 'string', arg: 'FILE', help: 'serve clients over TLS with this certificate (PEM)' },
    'tls-key': { type: 'string', arg: 'FILE', help: 'its private key (PEM)' },
    'tls-ca': { type: 'string', arg: 'FILE', help: 'CA that client certificates must be signed by' },
    'client-cert-auth': { type: 'boolean', help: "demand client certificates (etcd's --client-cert-auth)" },
    'peer-tls-cert': { type: 'string', arg: 'FILE', help: 'mutual TLS between members: certificate (PEM)' },
    'peer-tls-key': { type: 'string', arg: 'FILE', help: 'its private key (PEM)' },
    'peer-tls-ca': { type: 'string', arg: 'FILE', help: 'CA that signs every member certificate' },
  },
};
