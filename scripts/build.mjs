// Bundles the daemon, the CLI and the worker isolate's host into dist/ with esbuild: one file each (the daemon and
// the CLI: a few), so a Pi image carries no TypeScript toolchain and boot does not resolve hundreds of modules from
// the SD card.
//   dist/openstarryd.js  the daemon (systemd ExecStart)
//   dist/openstarry.js   the CLI: only the CLI (issue 12: a call costs little more than `node -e 0`)
//   dist/chunk-*.js      code the two share, and what is loaded only by a dynamic import(): a CLI command's own
//                        (`start`: the daemon; `validate`: the schemas; `design-layer serve`: the service) and the
//                        daemon's lazy parts (drivers some boards use); in dist/ itself, so import.meta.url still
//                        finds the files beside it (agent-host.cjs, sim-frames/, node_modules/ one level up)
//   dist/agent-host.cjs  the entry of every worker-thread isolate (found beside the daemon bundle)
//   dist/agent-process.mjs  the entry of every process isolate: self-contained, because the child's permission
//                        model grants read access to this one file only (.mjs: no package.json lookup needed)
//   dist/wasm-host.js    the entry of every wasm isolate's worker thread (QuickJS host)
//   dist/wasm-vm-runtime.js  the runtime that runs INSIDE QuickJS (core + HAL proxy); the wasm driver bundles it with
//                        an agent's plugins at spawn, so a packaged daemon needs no TypeScript sources for that
//   dist/agent-container.js  the entry of a docker isolate, baked into the agent image (scripts/docker/)
//   dist/dashboard/      the dashboard page's files (index.html, app.js, app.css), served by the daemon
// and builds the repository's own N-API addons (native/*/binding.gyp, e.g. native/sd-notify) for this host.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mergeStaticChunks } from './build/merge-static-chunks.mjs';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
const version = (await readFile(new URL('../runtime/version.ts', import.meta.url), 'utf8')).match(/VERSION = '([^']+)'/)?.[1];
if (version !== pkg.version) {
  console.error(`runtime/version.ts says ${version} but package.json says ${pkg.version}; keep them in step`);
  process.exit(1);
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Whitespace and syntax only: identifiers stay readable in stack traces from a board's journal.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // Only what cannot be bundled stays in node_modules; the Debian package ships exactly these (scripts/package/):
  // - native addons locate their .node file relative to their own package (bindings / node-gyp-build), so they
  //   stay, loaded at run time, only by the real bindings, lazily; their pure-JS users (serialport, onoff) and
  //   node-webcam (plain JS) are bundled;
  // - esbuild's own JS API (used by the wasm driver at spawn) finds its native binary from its package;
  // - dockerode could be bundled, but its tree (gRPC, protobufjs, ssh2) would add 1.2 MB that every boot parses,
  //   for a driver only some boards use; it is loaded from node_modules when the docker driver starts.
  external: ['@serialport/bindings-cpp', 'i2c-bus', 'epoll', 'esbuild', 'dockerode'],
  // Userland copies of what Node has built in, swapped for it (issue 12: every boot runs what the bundle holds):
  // - readable-stream 4 is Node's own stream code republished for browsers (mqtt.js and mqtt-packet's bl each carry a
  //   copy; its README: "a mirror of the streams implementations in Node.js"); its users take only named classes
  //   (Duplex, Writable, Transform, pipeline), which node:stream exports under the same names;
  // - worker-timers is for browsers; scripts/bundle-shims/worker-timers.cjs says why a stand-in is safe;
  // - assert: node:assert itself, loaded at its first use instead of at boot (scripts/bundle-shims/assert.cjs);
  // - debug: the real package only when DEBUG is set; otherwise its loggers are no-ops and its colour detection
  //   (node:tty, node:os, supports-color) never loads (scripts/bundle-shims/debug.cjs).
  alias: { 'readable-stream': 'node:stream', 'worker-timers': './scripts/bundle-shims/worker-timers.cjs', assert: './scripts/bundle-shims/assert.cjs', debug: './scripts/bundle-shims/debug.cjs' },
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __osCreateRequire } from 'node:module'; const require = __osCreateRequire(import.meta.url);" },
};

// The daemon and the CLI in one build with code splitting (ESM only): the CLI's own file holds what every command
// needs, each dynamic import() becomes a chunk, so `openstarry ps` parses ~50 KB instead of the daemon's 2 MB.
// The chunk names change with their content: the previous build's are removed first, or dist/ (which the
// packager ships whole) would keep every old one. The two entries' `#!/usr/bin/env node` is their sources' first
// line (esbuild keeps an entry's hashbang): a banner would put it on every chunk too, and lintian warns about a
// script that is not executable.
for (const f of existsSync('dist') ? readdirSync('dist') : []) if (/^chunk-[A-Z0-9]+\.js(\.map)?$/.test(f)) await rm(path.join('dist', f));
// Node's builtins are loaded with require(), not import: an `import ... from 'node:http'` makes Node build an ES-module
// facade that reads every export once, and on Node 22+ node:http's exports include WebSocket and CloseEvent, whose
// getters load undici (fetch), and with it http2, tls, zlib and web streams — ~100 more builtin modules compiled at
// every boot and held for ever, on a daemon that uses none of them (issue 12: measured on Node 22, see README
// "Performance"). Each static `node:*` import becomes a one-line CommonJS module, `module.exports = require('node:x')`,
// which esbuild bundles with its usual interop; the banner's require() (createRequire) then loads the builtin itself.
// An import() of a builtin stays Node's own: through such a module it would resolve to a namespace with only `default`
// (`const { createHash } = await import('node:crypto')` got undefined from dist/), and it runs only when called.
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-by-require' } : args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};
await build({ ...common, plugins: [builtinsByRequire], entryPoints: { openstarryd: 'runtime/daemon/main.ts', openstarry: 'runtime/cli/bin.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunk-[hash]' });
// What `openstarry ps` loads before its first line, in one chunk instead of ~17 (scripts/build/merge-static-chunks.mjs).
await mergeStaticChunks('dist', 'openstarry.js');
// CommonJS (.cjs): a worker whose entry is an ES module starts Node's ESM loader first, ~8 ms of every agent spawn.
await build({ ...common, format: 'cjs', banner: {}, entryPoints: { 'agent-host': 'runtime/isolation/worker/worker-entry.ts' }, outdir: 'dist', outExtension: { '.js': '.cjs' } });
if (existsSync('dist/agent-host.js')) for (const f of ['dist/agent-host.js', 'dist/agent-host.js.map']) await rm(f, { force: true });
await build({ ...common, entryPoints: ['runtime/isolation/process/process-entry.ts'], outfile: 'dist/agent-process.mjs' });
await build({ ...common, entryPoints: { 'wasm-host': 'runtime/isolation/wasm/vm-worker.ts' }, outdir: 'dist' });
// Runs inside QuickJS, not Node: no banner, no node builtins, ES2022 (the wasm driver's esbuild pass re-bundles it).
await build({ entryPoints: { 'wasm-vm-runtime': 'runtime/isolation/wasm/vm/agent-runtime.ts' }, outdir: 'dist', bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', logLevel: 'warning' });
await build({ ...common, entryPoints: { 'agent-container': 'runtime/isolation/docker/container-entry.ts' }, outdir: 'dist' });
// The dashboard page (runtime/dashboard/page/, README "Dashboard"): a browser bundle in dist/dashboard/, which the
// daemon serves as plain files and never loads itself. Its source map goes to dist/ (dashboard-page.js.map, not
// served), where the packager's copyright file reads the bundled packages' names from every bundle's map.
const page = await build({ entryPoints: ['runtime/dashboard/page/app.ts'], outfile: 'dist/dashboard-page.js', write: false, bundle: true, format: 'esm', platform: 'browser', target: 'es2020', minify: true, sourcemap: 'external', logLevel: 'warning' });
await rm('dist/dashboard', { recursive: true, force: true });
await mkdir('dist/dashboard', { recursive: true });
for (const out of page.outputFiles) await writeFile(out.path.endsWith('.map') ? 'dist/dashboard-page.js.map' : 'dist/dashboard/app.js', out.contents);
for (const f of ['index.html', 'app.css', 'favicon.svg']) await copyFile(`runtime/dashboard/page/${f}`, `dist/dashboard/${f}`);
// The sim camera's JPEG frames: the bundle looks for them in dist/sim-frames/.
await mkdir('dist/sim-frames', { recursive: true });
for (const f of await readdir('drivers/camera/sim-frames')) await copyFile(`drivers/camera/sim-frames/${f}`, `dist/sim-frames/${f}`);
await chmod('dist/openstarryd.js', 0o755);
await chmod('dist/openstarry.js', 0o755);

// The repository's own N-API addons (native/<name>/binding.gyp), built for this host with npm's bundled node-gyp
// when the .node file is missing or older than a source. N-API is ABI-stable, so the headers of whichever Node runs
// this build serve Node 20, 22 and 24 alike (npm passes its nodedir; otherwise the running Node's own include/).
// No compiler is not fatal: the daemon then falls back to what the addon replaces (runtime/daemon/sd-notify.ts).
for (const name of existsSync('native') ? readdirSync('native') : []) {
  const dir = path.join('native', name);
  if (!existsSync(path.join(dir, 'binding.gyp'))) continue;
  const release = path.join(dir, 'build', 'Release');
  const built = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node')).map((f) => statSync(path.join(release, f)).mtimeMs) : [];
  const sources = readdirSync(dir).filter((f) => /\.(c|cc|h|gyp)$/.test(f)).map((f) => statSync(path.join(dir, f)).mtimeMs);
  if (built.length > 0 && Math.max(...sources) <= Math.min(...built)) continue;
  const gyp = process.env.npm_config_node_gyp ?? path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const ownHeaders = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir ? [] : existsSync(path.join(ownHeaders, 'include', 'node', 'node_api.h')) ? [`--nodedir=${ownHeaders}`] : [];
  try {
    execFileSync(process.execPath, [gyp, 'rebuild', ...nodedir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').slice(-6).join('\n');
    console.warn(`warning: native addon ${dir} was not built (a C compiler, make and python3 are needed); the daemon falls back without it\n${output || err.message}`);
  }
}
