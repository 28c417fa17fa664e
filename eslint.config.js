// Lint rules for the whole repository: typescript-eslint's recommended type-aware rules,
// plus the project's own room boundaries (see docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/generated/**', 'src/gateway/web/dist/**', '.patchwork/**', 'artifacts/**', 'tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The kernel is a library of pure image math: it never reaches into the actor runtime or the gateway.
    files: ['src/kernel/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/actors/**', '**/gateway/**', '**/cli/**'], message: 'src/kernel imports nothing of actors, gateway or cli.' }] }],
    },
  },
  {
    files: ['src/actors/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/gateway/**', '**/cli/**'], message: 'src/actors imports only src/kernel types, the proto and src/common.' }] }],
    },
  },
  {
    // Orchestrations are replayed: they reach the world only through their context. The purity
    // test (test/unit/orchestration-purity.test.ts) also follows their imports transitively.
    files: ['src/actors/orchestrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/gateway/**', '**/cli/**'], message: 'src/actors imports only src/kernel types, the proto and src/common.' },
            { group: ['node:*', '@nats-io/*', '@grpc/*', 'sharp', 'pino', 'express', 'ws', 'msgpackr', '**/common/nats*', '**/common/blob-store*'], message: 'orchestration code does no I/O: use the context (ctx.call, ctx.sleep, ...).' },
          ],
        },
      ],
    },
  },
  {
    // The gateway sees jobs only through the actor runtime's public API and the job contract.
    files: ['src/gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/kernel/**', '**/cli/**'], message: 'src/gateway imports the src/actors public API and src/common only.' },
            { regex: '/actors/(?!index\\.ts$|jobs/types\\.ts$)', message: 'src/gateway imports src/actors/index.ts or src/actors/jobs/types.ts, not the modules behind them.' },
          ],
        },
      ],
    },
  },
  {
    // Shared infrastructure any room may import; it imports nothing of the rooms.
    files: ['src/common/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/kernel/**', '**/actors/**', '**/gateway/**', '**/cli/**'], message: 'src/common imports nothing of kernel, actors, gateway or cli.' }] }],
    },
  },
);
