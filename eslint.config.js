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
    // Issue 12 (idle RSS): production schemas use zod/mini, whose schemas hold less heap each than classic zod's;
    // one classic import would put classic's whole class tree back into the daemon's boot chunk (README "Performance").
    // Tests may build classic schemas. runtime/core imports no package at all (runtime/core/purity.test.ts).
    files: ['runtime/**/*.ts', 'hal/**/*.ts', 'drivers/**/*.ts', 'board-profiles/**/*.ts', 'agents/**/*.ts'],
    ignores: ['**/*.test.ts', 'runtime/core/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['zod', 'zod/v4', 'zod/v3', 'zod/v4/classic'].map((name) => ({ name, message: "production schemas use 'zod/mini' (types: 'zod/v4/core'); classic zod costs the daemon's heap (issue 12)." })),
      }],
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
