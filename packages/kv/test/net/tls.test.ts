/**
 * The client protocol over TLS, with certificates made by the `openssl` CLI in a temp dir (as
 * transport-tcp's TLS tests do): a client that trusts the CA works; one that does not is refused;
 * with `requireClientCert`, only clients presenting a certificate signed by the CA get in.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFlotillaError } from '@flotilla/errors';
import { KvClient } from '@flotilla/kv/client';
import { Cluster } from './helpers.js';

interface Pki {
  readonly ca: Buffer;
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly rogueCa: Buffer;
  readonly rogueKey: Buffer;
  readonly rogueCert: Buffer;
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
    ca: read('ca.crt'),
    key: read('member.key'),
    cert: read('member.crt'),
    rogueCa: read('rogue-ca.crt'),
    rogueKey: read('rogue.key'),
    rogueCert: read('rogue.crt'),
  };
}

describe('TLS', () => {
  let dir: string;
  let pki: Pki;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-kv-tls-'));
    pki = makePki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('server TLS: a client trusting the CA works; one trusting another CA is refused', async () => {
    const cluster = await Cluster.start({ size: 1, server: { tls: { key: pki.key, cert: pki.cert } } });
    try {
      await cluster.leader();
      const client = await cluster.client({ tls: { ca: pki.ca } });
      assert.ok((await client.put('secure', 'yes')).header.revision > 0);
      await assert.rejects(
        KvClient.connect({ endpoints: cluster.endpoints, tls: { ca: pki.rogueCa }, timeoutMs: 2000 }),
        (e: unknown) => isFlotillaError(e, 'UNAVAILABLE'),
      );
      // A plain-TCP client gets nowhere either.
      await assert.rejects(
        KvClient.connect({ endpoints: cluster.endpoints, timeoutMs: 1000 }),
        (e: unknown) => isFlotillaError(e, 'UNAVAILABLE'),
      );
    } finally {
      await cluster.close();
    }
  });

  test('client certificates: required and checked against the CA', async () => {
    const cluster = await Cluster.start({
      size: 1,
      server: { tls: { key: pki.key, cert: pki.cert, ca: pki.ca, requireClientCert: true } },
    });
    try {
      await cluster.leader();
      const client = await cluster.client({ tls: { ca: pki.ca, cert: pki.cert, key: pki.key } });
      assert.ok((await client.get('x')).header.revision > 0);
      for (const tls of [{ ca: pki.ca }, { ca: pki.ca, cert: pki.rogueCert, key: pki.rogueKey }]) {
        await assert.rejects(
          KvClient.connect({ endpoints: cluster.endpoints, tls, timeoutMs: 2000 }),
          (e: unknown) => isFlotillaError(e, 'UNAVAILABLE'),
        );
      }
    } finally {
      await cluster.close();
    }
  });
});
