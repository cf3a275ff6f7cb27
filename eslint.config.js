// Lint: typescript-eslint's recommended rules plus the one architectural rule we enforce mechanically:
// runtime/core is the pure AgentCore (spec 002 §3 "host bootstrapping"): it must import nothing from node:*
// or from the daemon, so that it runs unchanged in a worker, a child process, a container and QuickJS.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.openstarry/**', '.tap/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['runtime/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'runtime/core is pure: no node:* imports (docs/ARCHITECTURE.md "What each folder owns").' })),
        patterns: [{ group: ['../*', '!../core/*'], message: 'runtime/core must not import daemon code.' }],
      }],
    },
  },
);
