/**
 * Bundles an agent for the wasm isolate with esbuild at spawn: the VM runtime (vm/agent-runtime.ts with the pure
 * core and the HAL proxy) plus the template's plugin modules, resolved from the blueprint's in-memory snapshot
 * (runtime/design/blueprint.ts) — esbuild never reads the template folder. Anything else an agent imports is
 * refused here, before any of its code runs: a node builtin, an npm package, an absolute path, a path that leaves
 * the template, a file that is not in it. The refusal is ERR_ISOLATE_DENIED naming the import and the importer.
 *
 * esbuild is loaded lazily, so a daemon that never spawns a wasm agent never starts esbuild's service process.
 */
import { builtinModules } from 'node:module';
import path from 'node:path';
import type { Message, Plugin } from 'esbuild';
import { ErrorCode, OpenStarryError } from '../../core/errors.ts';
import { deniedModuleSource } from './agent-bundler-denied.ts';

const TEMPLATE_NS = 'openstarry-template';
const DENIED_NS = 'openstarry-denied';
const ENTRY = 'openstarry:wasm-entry';
const builtins = new Set(builtinModules);

export interface BundleInput {
  /** Relative posix path -> source (Blueprint.files). */
  files: Readonly<Record<string, string>>;
  /** The manifest's plugin paths, in order. */
  plugins: readonly string[];
  /** Absolute path of the VM runtime module (vm/agent-runtime.ts, or a prebuilt JS file in a packaged daemon). */
  runtimeEntry: string;
}

function normalise(rel: string): string {
  return path.posix.normalize(rel.replaceAll('\\', '/')).replace(/^\.\//, '');
}

/** Why `spec` (imported from the template file `importer`) is refused; undefined if it names a template file. */
export function resolveTemplateImport(spec: string, importer: string, files: Readonly<Record<string, string>>): { path: string } | { refused: string } {
  const bare = spec.split('/')[0] ?? spec;
  if (spec.startsWith('node:') || builtins.has(spec) || builtins.has(bare)) return { refused: `node builtin "${spec}" (the wasm isolate has no file system, network or process)` };
  if (path.posix.isAbsolute(spec) || /^[a-zA-Z]:[\\/]/.test(spec) || /^[a-z][a-z0-9+.-]*:/i.test(spec)) return { refused: `"${spec}" is not a path inside the template` };
  if (!spec.startsWith('./') && !spec.startsWith('../')) return { refused: `package "${spec}" (only the template's own files can be imported; bundle dependencies into it)` };
  const target = normalise(path.posix.join(path.posix.dirname(importer), spec));
  if (target.startsWith('../') || target === '..') return { refused: `"${spec}" leaves the template folder` };
  for (const candidate of [target, `${target}.js`, `${target}.mjs`, `${target}/index.js`]) {
    if (Object.hasOwn(files, candidate)) return { path: candidate };
  }
  return { refused: `"${spec}" is not a .js/.mjs file of the template` };
}

function templatePlugin(input: BundleInput, refusals: string[]): Plugin {
  return {
    name: 'openstarry-template',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.path === ENTRY) return { path: ENTRY, namespace: TEMPLATE_NS };
        // The VM runtime's own imports (core, HAL proxy) resolve normally, from the daemon's files.
        if (args.namespace !== TEMPLATE_NS || (args.importer === ENTRY && args.path === input.runtimeEntry)) return undefined;
        const importer = args.importer === ENTRY ? '' : args.importer;
        const result = args.importer === ENTRY ? resolveTemplateImport(`./${normalise(args.path)}`, 'index.js', input.files) : resolveTemplateImport(args.path, importer, input.files);
        if ('path' in result) return { path: result.path, namespace: TEMPLATE_NS };
        const how = args.kind === 'dynamic-import' ? 'import()' : args.kind === 'require-call' ? 'require()' : 'import';
        const text = `${how} of ${result.refused} from ${importer || 'the manifest'} refused`;
        // import() is a question agent code may ask and handle: it gets a rejection at run time, not a failed spawn.
        if (args.kind === 'dynamic-import') return { path: text, namespace: DENIED_NS };
        refusals.push(text);
        return { errors: [{ text }] };
      });
      build.onLoad({ filter: /.*/, namespace: DENIED_NS }, (args) => ({ contents: deniedModuleSource(args.path), loader: 'js' }));
      build.onLoad({ filter: /.*/, namespace: TEMPLATE_NS }, (args) => {
        if (args.path === ENTRY) return { contents: entrySource(input), loader: 'js', resolveDir: path.dirname(input.runtimeEntry) };
        return { contents: input.files[args.path] ?? '', loader: 'js' };
      });
    },
  };
}

function entrySource(input: BundleInput): string {
  const lines = [`import { runAgentInVm } from ${JSON.stringify(input.runtimeEntry)};`];
  input.plugins.forEach((p, i) => lines.push(`import * as plugin${i} from ${JSON.stringify(normalise(p))};`));
  lines.push(`runAgentInVm([${input.plugins.map((p, i) => `[${JSON.stringify(p)}, plugin${i}]`).join(', ')}]);`);
  return lines.join('\n');
}

/** Bundles an agent into one ES module for QuickJS; throws ERR_ISOLATE_DENIED / ERR_PLUGIN_INVALID. */
export async function bundleAgent(input: BundleInput): Promise<string> {
  const esbuild = await import('esbuild');
  const refusals: string[] = [];
  try {
    const result = await esbuild.build({
      entryPoints: [ENTRY],
      bundle: true,
      write: false,
      format: 'esm',
      // QuickJS 2025-09 implements ES2023; es2022 keeps #private fields and class fields as they are.
      target: 'es2022',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      logLevel: 'silent',
      legalComments: 'none',
      plugins: [templatePlugin(input, refusals)],
    });
    const out = result.outputFiles[0];
    if (!out) throw new OpenStarryError(ErrorCode.INTERNAL, 'esbuild produced no output');
    return out.text;
  } catch (err) {
    if (refusals.length > 0) throw new OpenStarryError(ErrorCode.ISOLATE_DENIED, `wasm isolate: ${refusals.join('; ')}`, { cause: err });
    const messages = (err as { errors?: Message[] }).errors;
    if (Array.isArray(messages) && messages.length > 0) {
      const text = messages.map((m) => (m.location ? `${m.location.file.replace(/^openstarry-template:/, '')}:${m.location.line}:${m.location.column}: ${m.text}` : m.text)).join('; ');
      throw new OpenStarryError(ErrorCode.PLUGIN_INVALID, `plugin bundle failed: ${text}`, { cause: err });
    }
    throw err;
  }
}
