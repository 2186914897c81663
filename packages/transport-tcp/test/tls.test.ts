import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { silentLogger } from '@flotilla/replica';
import { eventually, heartbeat, runTransportCompliance } from '@flotilla/replica/testing';
import { createTcpTransport, type TcpTlsOptions, type TcpTransport } from '@flotilla/transport-tcp';
import { Codec, FrameDecoder, PROTOCOL_VERSION } from '@flotilla/transport-tcp/wire';
import { CLUSTER, type Node, seqs, startNode, WAIT_MS, wire } from './helpers.js';

/** Certificates made with the openssl CLI in a temp dir: a CA, a member cert it signs, and a rogue pair. */
interface Pki {
  readonly member: TcpTlsOptions;
  readonly rogue: TcpTlsOptions;
  readonly ca: Buffer;
}

function makePki(dir: string): Pki {
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = (name: string): void =>
    run(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    );
  writeFileSync(
    join(dir, 'ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  const leaf = (name: string, issuer: string): void => {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    );
  };
  ca('ca');
  ca('rogue-ca');
  leaf('member', 'ca');
  leaf('rogue', 'rogue-ca');
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  return {
    member: { key: read('member.key'), cert: read('member.crt'), ca: read('ca.crt') },
    rogue: { key: read('rogue.key'), cert: read('rogue.crt'), ca: read('rogue-ca.crt') },
    ca: read('ca.crt'),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-tls-'));
const pki = makePki(dir);
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mutual TLS', () => {
  let transports: TcpTransport[] = [];
  runTransportCompliance(
    {
      setup(ids) {
        transports = ids.map((id) =>
          createTcpTransport({
            id,
            listen: { host: '127.0.0.1', port: 0 },
            peers: {},
            clusterId: 'tls-compliance',
            tls: pki.member,
            backoff: { initialMs: 10, maxMs: 100 },
            logger: silentLogger,
          }),
        );
        return transports;
      },
      connect(ts, ids) {
        ids.forEach((id, i) => {
          for (const t of ts) t.addPeer(id, (transports[i] as TcpTransport).address);
        });
      },
      address: (id) => transports.find((t) => t.id === id)?.address ?? '',
    },
    { name: 'TCP+TLS transport compliance', snapshotBytes: 8 * 1024 * 1024 },
  );
});

describe('TLS refusals', () => {
  const nodes: Node[] = [];
  const node = async (id: number, opts: Parameters<typeof startNode>[1] = {}): Promise<Node> => {
    const n = await startNode(id, opts);
    nodes.push(n);
    return n;
  };
  after(async () => {
    await Promise.all(nodes.map((n) => n.t.close()));
  });

  test('a client without a certificate is refused by a member', async () => {
    const b = await node(2, { tls: pki.member });
    b.t.addPeer(1, '127.0.0.1:9');
    const socket = tlsConnect({ host: '127.0.0.1', port: b.t.port, ca: pki.ca });
    socket.on('error', () => {});
    socket.on('secureConnect', () => {
      socket.write(
        new Codec().frame({
          t: 'hello',
          v: PROTOCOL_VERSION,
          cluster: CLUSTER,
          from: 1,
          to: 2,
          kind: 'raft',
        }),
      );
    });
    await new Promise((resolve) => socket.on('close', resolve)); // (events.once would reject on 'error')
    await b.log.until((l) => /TLS handshake/.test(l.message), 'the TLS refusal is logged');
    assert.equal(b.inbox.messages.length, 0);
  });

  test('a member whose certificate another CA signed is refused both ways', async () => {
    const a = await node(1, { tls: pki.member });
    const r = await node(3, { tls: pki.rogue });
    wire([a, r]);
    r.t.send([heartbeat(3, 1, 1)]);
    a.t.send([heartbeat(1, 3, 1)]);
    await r.inbox.until(() => r.inbox.unreachable.includes(1), 'rogue cannot reach the member', WAIT_MS);
    await a.inbox.until(() => a.inbox.unreachable.includes(3), 'the member cannot reach the rogue', WAIT_MS);
    assert.equal(a.inbox.messages.length + r.inbox.messages.length, 0);
  });

  test('TLS and plain TCP members cannot talk; nothing crashes', async () => {
    const secure = await node(1, { tls: pki.member });
    const plain = await node(2);
    wire([secure, plain]);
    secure.t.send([heartbeat(1, 2, 1)]);
    plain.t.send([heartbeat(2, 1, 1)]);
    await secure.inbox.until(() => secure.inbox.unreachable.includes(2), 'tls → plain fails', WAIT_MS);
    await plain.inbox.until(() => plain.inbox.unreachable.includes(1), 'plain → tls fails', WAIT_MS);
    assert.equal(secure.inbox.messages.length + plain.inbox.messages.length, 0);
  });

  test('requireClientCert: false accepts a TLS client without a certificate, still behind the cluster handshake', async () => {
    const b = await node(2, { tls: { ...pki.member, requireClientCert: false } });
    b.t.addPeer(1, '127.0.0.1:9');
    const codec = new Codec();
    const socket = tlsConnect({ host: '127.0.0.1', port: b.t.port, ca: pki.ca });
    socket.on('error', () => {});
    await once(socket, 'secureConnect');
    socket.write(
      codec.frame({ t: 'hello', v: PROTOCOL_VERSION, cluster: CLUSTER, from: 1, to: 2, kind: 'raft' }),
    );
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    assert.deepEqual(codec.decode(new FrameDecoder(65536).push(chunk)[0] as Buffer), {
      t: 'welcome',
      v: PROTOCOL_VERSION,
      cluster: CLUSTER,
      id: 2,
    });
    socket.write(codec.frame([heartbeat(1, 2, 5)]));
    await eventually(
      () => {},
      () => seqs(b.inbox, 1).includes(5),
      'delivered',
      { retryMs: 20, timeoutMs: WAIT_MS },
    );
    socket.destroy();
  });
});
