// The image recipe (read, not built: no container engine runs here): Debian Node base for
// sharp, `npm ci --omit=dev` in the image that runs, a numeric non-root user the manifests use,
// the entrypoint and every runtime file in the context and copied, the ports exposed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDockerfile, readDockerfile } from './support/code-tables.ts';
import { dockerIgnored, imageProblems, parseDockerignore } from './support/image.ts';
import { allTargets, repoRoot } from './support/render.ts';

const dockerignore = parseDockerignore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));

test('the Dockerfile builds the image the manifests run', () => {
  const df = readDockerfile();
  assert.deepEqual(imageProblems(df, dockerignore, repoRoot, allTargets()[0].objects), []);
  assert.equal(df.workdir, '/app');
  assert.deepEqual(df.entrypoint, ['/app/bin/patchwork']);
});

test('.dockerignore keeps the runtime files and drops what is built or local', () => {
  for (const f of ['package.json', 'src/cli/main.ts', 'bin/patchwork', 'schema.graphql', 'tsconfig.json', 'scripts/run-tests.mjs']) assert.equal(dockerIgnored(dockerignore, f), false, f);
  for (const f of ['node_modules/x/index.js', 'src/gateway/node_modules/y', '.git/HEAD', 'test/k8s/render.test.ts', 'src/gateway/web/dist/app.js', 'debug.log']) assert.equal(dockerIgnored(dockerignore, f), true, f);
  assert.equal(dockerIgnored(['*.md', '!README.md'], 'README.md'), false);
  assert.equal(dockerIgnored(['*.md', '!README.md'], 'NOTES.md'), true);
});

test('a broken recipe is caught', () => {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const bad = parseDockerfile(
    text
      .replace(/ARG NODE_IMAGE=\S+/, 'ARG NODE_IMAGE=node:22-alpine')
      .replace('npm ci --omit=dev', 'npm ci')
      .replace('USER 10001:10001', 'USER patchwork')
      .replace('COPY --from=build /app/tsconfig.json /app/schema.graphql ./', 'COPY --from=build /app/tsconfig.json ./')
      .replace('ENTRYPOINT ["/app/bin/patchwork"]', 'ENTRYPOINT ["/app/bin/pw"]')
      .replace('EXPOSE 4000 50051 9464', 'EXPOSE 4000'),
  );
  const p = imageProblems(bad, [...dockerignore, 'schema.graphql'], repoRoot, allTargets()[0].objects);
  const expect = [
    /FROM node:22-alpine is not a Debian Node image/,
    /the final stage does not install with `npm ci --omit=dev`/,
    /USER patchwork is not a numeric non-root uid/,
    /ENTRYPOINT \/app\/bin\/pw \(bin\/pw in the repository\) is missing/,
    /\.dockerignore excludes schema.graphql/,
    /the final stage does not copy schema.graphql/,
    /does not EXPOSE 50051/,
  ];
  for (const re of expect) assert.ok(p.some((x) => re.test(x)), `not reported: ${re}\n${p.join('\n')}`);
});
