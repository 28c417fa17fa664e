// `patchwork up`'s pure parts: what it plans to start, when it may install nats-server, and how
// long it waits before restarting a crashed child.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NATS_INSTALL_HELP, ensureNatsServer, planNatsInstall } from '../../src/cli/up/nats-install.ts';
import { fairWorkers, makePlan } from '../../src/cli/up/plan.ts';
import { restartDelayMs } from '../../src/cli/up/supervisor.ts';

test('kernel nodes share the cores without oversubscribing them', () => {
  assert.equal(fairWorkers(2, 2), 1);
  assert.equal(fairWorkers(8, 8), 1);
  assert.equal(fairWorkers(8, 2), 4);
  assert.equal(fairWorkers(8, 3), 2);
  assert.equal(fairWorkers(2, 5), 1, 'more nodes than cores still get one worker each');
  for (let cores = 1; cores <= 16; cores++) {
    for (let kernels = 1; kernels <= cores; kernels++) assert.ok(fairWorkers(cores, kernels) * kernels <= cores, `${kernels} nodes on ${cores} cores`);
  }
});

test('defaults: one kernel node per core, one gateway on 4000, a free NATS port, ./.patchwork', () => {
  const p = makePlan({}, {}, 4, '/home/u/proj');
  assert.equal(p.kernels, 4);
  assert.equal(p.workersPerKernel, 1);
  assert.deepEqual(p.gatewayPorts, [4000]);
  assert.equal(p.natsPort, -1);
  assert.equal(p.dataDir, '/home/u/proj/.patchwork');
  assert.equal(p.host, '127.0.0.1');
  assert.equal(p.natsServer, 'nats-server');
});

test('flags: consecutive gateway ports, free ports with 0, workers, nats binary from the environment', () => {
  const p = makePlan({ port: 5000, gateways: 3, kernels: 2, data: 'd' }, { NATS_SERVER_BIN: '/opt/nats' }, 8, '/w');
  assert.deepEqual(p.gatewayPorts, [5000, 5001, 5002]);
  assert.equal(p.workersPerKernel, 4);
  assert.equal(p.dataDir, '/w/d');
  assert.equal(p.natsServer, '/opt/nats');
  assert.deepEqual(makePlan({ port: 0, gateways: 2 }, {}, 2).gatewayPorts, [0, 0]);
  assert.equal(makePlan({ kernels: 2, workers: 3 }, {}, 2).workersPerKernel, 3);
});

test('bad flags are BAD_OPTION errors that name the flag', () => {
  assert.throws(() => makePlan({ gateways: 0 }), { code: 'BAD_OPTION', message: /--gateways/ });
  assert.throws(() => makePlan({ kernels: -1 }), { code: 'BAD_OPTION', message: /--kernels/ });
  assert.throws(() => makePlan({ port: 65535, gateways: 2 }), { code: 'BAD_OPTION', message: /--port/ });
  assert.throws(() => makePlan({ natsPort: 0 }), { code: 'BAD_OPTION', message: /--nats-port/ });
});

test('nats-server is installed only as root or with password-less sudo, on Debian or Ubuntu with apt-get', () => {
  const debian = { osIds: ['debian'], hasAptGet: true };
  assert.deepEqual(planNatsInstall({ ...debian, uid: 0, passwordlessSudo: false }), { kind: 'apt', sudo: false });
  assert.deepEqual(planNatsInstall({ osIds: ['ubuntu', 'debian'], hasAptGet: true, uid: 1000, passwordlessSudo: true }), { kind: 'apt', sudo: true });
  assert.equal(planNatsInstall({ ...debian, uid: 1000, passwordlessSudo: false }).kind, 'manual');
  assert.equal(planNatsInstall({ osIds: ['fedora'], hasAptGet: false, uid: 0, passwordlessSudo: false }).kind, 'manual');
  assert.equal(planNatsInstall({ osIds: ['debian'], hasAptGet: false, uid: 0, passwordlessSudo: false }).kind, 'manual');
});

test('a missing nats-server gets the exact install commands', () => {
  const said: string[] = [];
  const say = (l: string): void => void said.push(l);
  assert.throws(() => ensureNatsServer('/nonexistent/nats-server', { install: true, say }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'NATS_MISSING');
    assert.match(e.message, /sudo apt-get install -y nats-server/);
    assert.match(e.message, /github\.com\/nats-io\/nats-server\/releases/);
    return true;
  });
  assert.deepEqual(said, [], 'nothing installed, nothing announced');
  assert.match(NATS_INSTALL_HELP, /brew install nats-server/);
  // An installed one is found on PATH (or in /usr/sbin, which a user's PATH may lack).
  assert.match(ensureNatsServer('nats-server', { install: false, say }), /\/nats-server$/);
});

test('restart backoff doubles from half a second up to 30 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(restartDelayMs), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
});
