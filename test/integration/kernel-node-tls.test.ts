// Kernel nodes with TLS and mutual TLS, from certificates openssl makes for the test: a client
// with the CA and a client certificate gets answers; without the client certificate, without
// TLS, or checking the wrong server name, it does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { CodedError } from '../../src/common/errors.ts';
import { clientCredentials } from '../../src/kernel/cluster/transport.ts';
import { NodeClient } from '../../src/kernel/client/index.ts';
import { startTestCluster } from '../support/kernel-cluster.ts';
import { discMask, texturedImage } from '../support/images.ts';

const SERVER_NAME = 'kernel.patchwork.test';

function makeCerts(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'otherCa', string> {
  const p = (f: string): string => join(dir, f);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const key = (name: string): void => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p(name));
  const ca = (name: string): void => {
    key(`${name}.key`);
    ssl('req', '-x509', '-new', '-key', p(`${name}.key`), '-out', p(`${name}.pem`), '-days', '1', '-subj', `/CN=${name}`);
  };
  const leaf = (name: string, ext: string): void => {
    key(`${name}.key`);
    ssl('req', '-new', '-key', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`);
    writeFileSync(p(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.pem`), '-days', '1', '-extfile', p(`${name}.ext`));
  };
  ca('ca');
  ca('other-ca');
  // The server certificate names a DNS name only: clients dialling 127.0.0.1 must check that name.
  leaf('server', `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
  leaf('client', 'extendedKeyUsage=clientAuth\n');
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key'), otherCa: p('other-ca.pem') };
}

test('mutual TLS from certificate files: the right client is served, others are turned away', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-tls-'));
  try {
    const certs = makeCerts(dir);
    const c = await startTestCluster(
      1,
      { args: ['--tls-cert', certs.serverCert, '--tls-key', certs.serverKey], env: { PATCHWORK_KERNEL_TLS_CLIENT_CA: certs.ca } },
      { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, serverName: SERVER_NAME } },
    );
    try {
      const [node] = c.nodes;
      assert.equal(c.cluster.nodes.list()[0].tls, true, 'the node registers that it speaks TLS');
      assert.ok(node.log.some((l) => l.includes('"mtls":true')));
      const job = await c.job('tls', texturedImage(64, 48), discMask(64, 48, 30, 24, 10));
      const ok = await c.cluster.prepare({ job }, { placementKey: 'tls' });
      assert.equal(ok.response.width, 64);

      const address = `127.0.0.1:${node.port}`;
      const refused = async (why: string, client: NodeClient): Promise<void> => {
        try {
          await assert.rejects(client.call('prepare', { job }, 5_000), (e: unknown) => e instanceof CodedError && e.code === 'KERNEL_UNAVAILABLE', why);
        } finally {
          client.close();
        }
      };
      await refused('no client certificate', new NodeClient('n', address, clientCredentials({ ca: certs.ca }), SERVER_NAME));
      await refused('plaintext', new NodeClient('n', address, credentials.createInsecure()));
      await refused('server name not checked against the certificate', new NodeClient('n', address, clientCredentials({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })));
      await refused('untrusted server CA', new NodeClient('n', address, clientCredentials({ ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey }), SERVER_NAME));
      const again = new NodeClient('n', address, clientCredentials({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }), SERVER_NAME);
      try {
        assert.equal((await again.call('prepare', { job }, 10_000)).width, 64);
      } finally {
        again.close();
      }
    } finally {
      await c.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
