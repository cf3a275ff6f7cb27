/**
 * The isolate's module loader (host side of spec 002 §3: "the host physically loads the plugin code").
 * Agent modules come from the blueprint's in-memory snapshot, never from disk, and are linked here with
 * vm.SourceTextModule so that every static and dynamic import of agent code passes through `resolve()`:
 * relative imports stay inside the agent folder, allowed builtins are served curated (module-policy.ts), and everything else —
 * node:fs, child_process, net, worker_threads, vm, native addons, bare packages — fails with ERR_ISOLATE_DENIED.
 *
 * Why not module.register() resolve hooks: on Node 20 they start an extra hooks thread per worker (~80 ms and
 * ~10 MB each, measured), which would more than double spawn latency. Requires --experimental-vm-modules.
 */
import { builtinModules } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { ErrorCode, OpenStarryError } from '../../core/errors.ts';
import type { CuratedBuiltins } from './module-policy.ts';
import { getFromMap, hasInSet, isAllowedBuiltin, refusalReason } from './module-policy.ts';

const BUILTINS = new Set(builtinModules);

export interface ModuleSandboxOptions {
  /** Absolute folder the files came from: used only to name modules (stack traces, import.meta.url). */
  rootDir: string;
  /** Relative posix path -> source. */
  files: Readonly<Record<string, string>>;
  /** The allowed builtins as agent code gets them, prepared before any agent code ran (module-policy.ts). */
  builtins: CuratedBuiltins;
}

export class ModuleSandbox {
  readonly #rootDir: string;
  readonly #files: Readonly<Record<string, string>>;
  readonly #builtins: CuratedBuiltins;
  readonly #modules = new Map<string, vm.Module>();
  readonly #relOf = new WeakMap<vm.Module, string>();

  constructor(options: ModuleSandboxOptions) {
    this.#rootDir = options.rootDir;
    this.#files = options.files;
    this.#builtins = options.builtins;
  }

  /** Loads, links and evaluates an entry module (a path relative to the agent folder); returns its namespace. */
  async import(rel: string): Promise<Record<string, unknown>> {
    const module = this.#sourceModule(path.posix.normalize(rel).replace(/^\.\//, ''), 'the manifest');
    await this.#ready(module);
    return module.namespace as Record<string, unknown>;
  }

  async #ready(module: vm.Module): Promise<void> {
    if (module.status === 'unlinked') await module.link((specifier, referrer) => this.#resolve(specifier, referrer));
    if (module.status === 'linked') await module.evaluate();
    if (module.status === 'errored') throw module.error;
  }

  #resolve(specifier: string, referrer: vm.Module): Promise<vm.Module> | vm.Module {
    const from = this.#relOf.get(referrer) ?? '';
    const bare = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
    if (specifier.startsWith('node:') || hasInSet(BUILTINS, bare)) return this.#builtin(bare, from);
    if (/\.node$/.test(specifier)) throw denied(`native addon "${specifier}" (imported by ${from}) is refused: agents reach hardware through the HAL`);
    if (specifier.startsWith('./') || specifier.startsWith('../')) {
      const rel = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
      if (rel.startsWith('../') || rel === '..') throw denied(`"${specifier}" (imported by ${from}) points outside the agent folder`);
      return this.#sourceModule(rel, from);
    }
    if (specifier.startsWith('/') || specifier.startsWith('file:')) throw denied(`absolute import "${specifier}" (imported by ${from}) is refused: only the agent's own modules can be loaded`);
    throw denied(`package import "${specifier}" (imported by ${from}) is not supported in an isolate: bundle dependencies into the agent's modules (e.g. with esbuild)`);
  }

  #sourceModule(rel: string, importer: string): vm.Module {
    const cached = this.#modules.get(rel);
    if (cached) return cached;
    const source = this.#files[rel];
    if (source === undefined) {
      throw new OpenStarryError(ErrorCode.PLUGIN_INVALID, `module "${rel}" (imported by ${importer}) is not in the agent folder ${this.#rootDir}`);
    }
    const identifier = pathToFileURL(path.join(this.#rootDir, rel)).href;
    const module = new vm.SourceTextModule(source, {
      identifier,
      initializeImportMeta: (meta) => {
        meta.url = identifier;
      },
      importModuleDynamically: (async (specifier: string, referrer: vm.Module) => {
        const target = await this.#resolve(specifier, referrer);
        await this.#ready(target);
        return target;
      }) as unknown as vm.SourceTextModuleOptions['importModuleDynamically'],
    });
    this.#modules.set(rel, module);
    this.#relOf.set(module, rel);
    return module;
  }

  async #builtin(name: string, from: string): Promise<vm.Module> {
    const key = `node:${name}`;
    // Runs on agent code's dynamic imports too: lookups through methods agent code cannot replace (module-policy.ts).
    const cached = getFromMap(this.#modules, key);
    if (cached) return cached;
    if (!isAllowedBuiltin(name)) throw denied(`import of "node:${name}" (by ${from}) is refused: ${refusalReason(name)}`);
    // Curated where it matters: see REFUSED_BUILTIN_MEMBERS (crypto.setEngine would dlopen any library).
    const exports = await this.#builtins.exports(name);
    const names = Object.keys(exports);
    const module = new vm.SyntheticModule(names, function (this: vm.SyntheticModule) {
      for (const n of names) this.setExport(n, exports[n]);
    }, { identifier: key });
    this.#modules.set(key, module);
    return module;
  }
}

function denied(message: string): OpenStarryError {
  return new OpenStarryError(ErrorCode.ISOLATE_DENIED, message);
}
