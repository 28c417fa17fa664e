// The manifests agree with the code: every environment variable and ConfigMap key is a setting
// of the role that reads it (and the code's own parser accepts the values), container ports and
// probes match the ports the settings open, commands are real `patchwork` subcommands and flags,
// grace periods outlast each process's shutdown, and NATS's config matches its StatefulSet and
// the apps' settings. Each check is run on every rendering, then on copies broken on purpose.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliCommands, readDockerfile } from './support/code-tables.ts';
import { commandProblems, envProblems, lifecycleProblems, natsProblems, portProblems } from './support/drift.ts';
import { configData, container, object, podSpec, rendering, reports } from './support/mutate.ts';
import { allTargets } from './support/render.ts';

const dockerfile = readDockerfile();

test('every rendering agrees with the code', () => {
  for (const t of allTargets()) {
    assert.deepEqual(envProblems(t.objects), [], `${t.name}: environment`);
    assert.deepEqual(portProblems(t.objects), [], `${t.name}: ports`);
    assert.deepEqual(commandProblems(t.objects, dockerfile), [], `${t.name}: commands`);
    assert.deepEqual(lifecycleProblems(t.objects), [], `${t.name}: shutdown`);
    assert.deepEqual(natsProblems(t.objects), [], `${t.name}: NATS`);
  }
});

test('the roles the manifests run are commands of the real CLI', () => {
  const commands = cliCommands();
  assert.ok(commands.has('gateway') && commands.has('kernel'), [...commands].join(', '));
});

test('environment drift is caught: unknown names, missing settings, values the code rejects, bad file paths', () => {
  let o = rendering('prod');
  const gw = configData(o, 'patchwork-gateway-config');
  gw.PATCHWORK_DRAIN_MSEC = gw.PATCHWORK_DRAIN_MS;
  delete gw.PATCHWORK_DRAIN_MS;
  let p = envProblems(o);
  assert.ok(reports(p, /patchwork-gateway container gateway: PATCHWORK_DRAIN_MSEC \(from configMap .*\) is not a setting of `patchwork gateway`/), p.join('\n'));
  assert.ok(reports(p, /patchwork-gateway container gateway: PATCHWORK_DRAIN_MS is not set/), p.join('\n'));

  o = rendering('prod');
  configData(o, 'patchwork-kernel-config').PATCHWORK_MAX_UPLOAD_BYTES = '1000';
  p = envProblems(o);
  assert.ok(reports(p, /patchwork-kernel container kernel: PATCHWORK_MAX_UPLOAD_BYTES .* is not a setting of `patchwork kernel`/), p.join('\n'));

  o = rendering('prod');
  container(o, 'patchwork-kernel').env!.push({ name: 'PATCHWORK_KERNEL_HINT', value: 'true' });
  p = envProblems(o);
  assert.ok(reports(p, /PATCHWORK_KERNEL_HINT \(from value\) is not a setting/), p.join('\n'));

  o = rendering('prod');
  configData(o, 'patchwork-kernel-config').PATCHWORK_KERNEL_PORT = 'eighty';
  p = envProblems(o);
  assert.ok(reports(p, /patchwork-kernel container kernel: the code rejects its settings: .*PATCHWORK_KERNEL_PORT/), p.join('\n'));

  o = rendering('prod');
  configData(o, 'patchwork-gateway-config').PATCHWORK_MAX_QUERY_DEPTH = '-3';
  p = envProblems(o);
  assert.ok(reports(p, /patchwork-gateway container gateway: the code rejects its settings: .*PATCHWORK_MAX_QUERY_DEPTH/), p.join('\n'));

  o = rendering('prod');
  configData(o, 'patchwork-gateway-config').PATCHWORK_TOKENS_FILE = '/etc/tokens';
  p = envProblems(o);
  assert.ok(reports(p, /PATCHWORK_TOKENS_FILE=\/etc\/tokens is not under any mounted volume/), p.join('\n'));

  o = rendering('dev');
  configData(o, 'patchwork-gateway-config').PATCHWORK_TOKENS_FILE = '/etc/patchwork/tokens/token-list';
  p = envProblems(o);
  assert.ok(reports(p, /Secret patchwork-api-tokens has no key token-list/), p.join('\n'));

  o = rendering('prod');
  container(o, 'patchwork-kernel').env!.push({ name: 'PATCHWORK_NAMESPACE', value: 'other' });
  p = envProblems(o);
  assert.ok(reports(p, /PATCHWORK_NAMESPACE differs: gateway job, kernel other/), p.join('\n'));

  o = rendering('prod');
  const kernel = container(o, 'patchwork-kernel');
  kernel.env = kernel.env!.filter((e) => e.name !== 'PATCHWORK_KERNEL_ADVERTISE');
  p = envProblems(o);
  assert.ok(reports(p, /PATCHWORK_KERNEL_ADVERTISE is not set \(clients dial the pod IP/), p.join('\n'));

  o = rendering('prod');
  const k = container(o, 'patchwork-kernel');
  k.envFrom = k.envFrom!.filter((f) => !f.configMapRef?.name.startsWith('patchwork-kernel-config'));
  p = envProblems(o);
  assert.ok(reports(p, /ConfigMap\/patchwork-kernel-config-\w+: no Patchwork container reads it/), p.join('\n'));
});

test('port drift is caught: container ports, probes, Services, the Ingress, autoscalers and budgets', () => {
  let o = rendering('prod');
  configData(o, 'patchwork-kernel-config').PATCHWORK_KERNEL_PORT = '50052';
  let p = portProblems(o);
  assert.ok(reports(p, /patchwork-kernel container kernel: port grpc is 50051 but the code listens on 50052/), p.join('\n'));
  assert.ok(reports(p, /gRPC probe on 50051, the node serves gRPC on 50052/), p.join('\n'));

  o = rendering('prod');
  container(o, 'patchwork-gateway').readinessProbe!.httpGet!.port = 'metrics';
  p = portProblems(o);
  assert.ok(reports(p, /patchwork-gateway container gateway: readinessProbe targets port metrics, which the container does not declare/), p.join('\n'));

  o = rendering('prod');
  container(o, 'patchwork-gateway').ports!.push({ name: 'debug', containerPort: 9229 });
  p = portProblems(o);
  assert.ok(reports(p, /port debug 9229 is not one the code listens on/), p.join('\n'));

  o = rendering('prod');
  (object(o, 'Service', 'patchwork-gateway').spec.ports as { targetPort: string }[])[0].targetPort = 'web';
  p = portProblems(o);
  assert.ok(reports(p, /Service\/patchwork-gateway: port http targets web/), p.join('\n'));

  o = rendering('prod');
  (object(o, 'Service', 'patchwork-nats').spec.selector as Record<string, string>)['app.kubernetes.io/name'] = 'natz';
  p = portProblems(o);
  assert.ok(reports(p, /Service\/patchwork-nats: selects no pods/), p.join('\n'));

  o = rendering('prod+ingress');
  (object(o, 'Ingress', 'patchwork-gateway').spec.rules as { http: { paths: { backend: { service: { port: { name: string } } } }[] } }[])[0].http.paths[0].backend.service.port.name = 'https';
  p = portProblems(o);
  assert.ok(reports(p, /Ingress\/patchwork-gateway: backend patchwork-gateway:https does not exist/), p.join('\n'));

  o = rendering('prod');
  (object(o, 'HorizontalPodAutoscaler', 'patchwork-kernel').spec.scaleTargetRef as { name: string }).name = 'kernel';
  (object(o, 'PodDisruptionBudget', 'patchwork-gateway').spec.selector as { matchLabels: Record<string, string> }).matchLabels['app.kubernetes.io/name'] = 'gateway';
  p = portProblems(o);
  assert.ok(reports(p, /HorizontalPodAutoscaler\/patchwork-kernel: scales Deployment\/kernel/), p.join('\n'));
  assert.ok(reports(p, /PodDisruptionBudget\/patchwork-gateway: selects no pods/), p.join('\n'));
});

test('command drift is caught: unknown roles and flags, a replaced entrypoint, another working directory', () => {
  let o = rendering('prod');
  container(o, 'patchwork-gateway').args = ['gatewayz'];
  let p = commandProblems(o, dockerfile);
  assert.ok(reports(p, /args \["gatewayz"\] do not start with a patchwork command/), p.join('\n'));

  o = rendering('prod');
  container(o, 'patchwork-kernel').args = ['kernel', '--no-such-flag', '1'];
  container(o, 'patchwork-gateway').args = ['local'];
  p = commandProblems(o, dockerfile);
  assert.ok(reports(p, /`patchwork kernel` has no flag --no-such-flag/), p.join('\n'));
  assert.ok(reports(p, /`patchwork local` is not a server role/), p.join('\n'));

  o = rendering('prod');
  container(o, 'patchwork-kernel').command = ['node', 'src/cli/main.ts'];
  container(o, 'patchwork-gateway').workingDir = '/srv';
  p = commandProblems(o, dockerfile);
  assert.ok(reports(p, /command \["node","src\/cli\/main.ts"\] replaces the image's entrypoint/), p.join('\n'));
  assert.ok(reports(p, /workingDir \/srv is not the image's WORKDIR \/app/), p.join('\n'));
});

test('shutdown drift is caught: grace periods shorter than the drain, no preStop pause, lame duck on the wrong pid file', () => {
  let o = rendering('prod');
  configData(o, 'patchwork-kernel-config').PATCHWORK_KERNEL_DRAIN_TIMEOUT_MS = '120000';
  podSpec(o, 'patchwork-gateway').terminationGracePeriodSeconds = 20;
  let p = lifecycleProblems(o);
  assert.ok(reports(p, /patchwork-kernel container kernel: terminationGracePeriodSeconds 75 does not outlast the shutdown \(120 s\)/), p.join('\n'));
  assert.ok(reports(p, /patchwork-gateway container gateway: terminationGracePeriodSeconds 20 does not outlast the shutdown \(30 s\)/), p.join('\n'));

  o = rendering('prod');
  delete container(o, 'patchwork-gateway').lifecycle;
  container(o, 'patchwork-nats').lifecycle!.preStop!.exec!.command = ['nats-server', '--signal', 'ldm=/tmp/nats.pid'];
  p = lifecycleProblems(o);
  assert.ok(reports(p, /no preStop pause before SIGTERM/), p.join('\n'));
  assert.ok(reports(p, /preStop signals .*ldm=\/tmp\/nats.pid, but the server writes its pid to \/var\/run\/nats\/nats.pid/), p.join('\n'));
});

test('NATS drift is caught: routes, replicas, variables, store size, pod management, the apps\' URL', () => {
  let o = rendering('prod');
  const conf = configData(o, 'patchwork-nats-config');
  conf['cluster.conf'] = conf['cluster.conf'].replace(/\s*nats:\/\/patchwork-nats-2[^\s]*/, '');
  let p = natsProblems(o);
  assert.ok(reports(p, /3 replicas need routes .*patchwork-nats-2.patchwork-nats-headless:6222; the config has/), p.join('\n'));

  o = rendering('dev');
  configData(o, 'patchwork-config').PATCHWORK_JETSTREAM_REPLICAS = '3';
  p = natsProblems(o);
  assert.ok(reports(p, /PATCHWORK_JETSTREAM_REPLICAS 3 exceeds the 1 NATS server/), p.join('\n'));

  o = rendering('prod');
  const nats = container(o, 'patchwork-nats');
  nats.env = nats.env!.filter((e) => e.name !== 'NATS_PASSWORD');
  nats.env.push({ name: 'NATS_TOKEN', value: 'x' });
  p = natsProblems(o);
  assert.ok(reports(p, /the config reads \$NATS_PASSWORD, which the container does not set/), p.join('\n'));
  assert.ok(reports(p, /NATS_TOKEN is set but the config never reads \$NATS_TOKEN/), p.join('\n'));

  o = rendering('prod');
  const c = configData(o, 'patchwork-nats-config');
  c['nats.conf'] = c['nats.conf'].replace('max_file_store: 9Gi', 'max_file_store: 20Gi').replace('http_port: 8222', 'http_port: 8223');
  (object(o, 'StatefulSet', 'patchwork-nats').spec as { podManagementPolicy: string }).podManagementPolicy = 'OrderedReady';
  p = natsProblems(o);
  assert.ok(reports(p, /max_file_store 21474836480 exceeds the 10Gi volume/), p.join('\n'));
  assert.ok(reports(p, /port monitor is 8222, the config says 8223/), p.join('\n'));
  assert.ok(reports(p, /podManagementPolicy must be Parallel/), p.join('\n'));

  o = rendering('prod');
  configData(o, 'patchwork-config').PATCHWORK_NATS_URL = 'nats://nats:4222';
  p = natsProblems(o);
  assert.ok(reports(p, /PATCHWORK_NATS_URL nats:\/\/nats:4222 is not a Service port of the NATS pods/), p.join('\n'));

  o = rendering('dev');
  configData(o, 'patchwork-nats-config')['cluster.conf'] = 'cluster { port: 6222 }\n';
  p = natsProblems(o);
  assert.ok(reports(p, /one replica with a cluster block/), p.join('\n'));
});
