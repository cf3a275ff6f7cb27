/**
 * End-to-end harness: starts the real daemon (dist/openstarryd.js, the shipped bundle) as a child process with a
 * temporary OPENSTARRY_HOME, and drives it only through the real CLI (dist/openstarry.js). `npm test` builds
 * dist/ first; running a file directly needs `npm run build` once.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../daemon/node-flags.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const DAEMON = path.join(ROOT, 'dist', 'openstarryd.js');
export const CLI = path.join(ROOT, 'dist', 'openstarry.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningDaemon {
  child: ChildProcess;
  home: string;
  socket: string;
  /** Everything the daemon wrote to stderr so far (its log). */
  log(): string;
  cli(...args: string[]): Promise<CliResult>;
  /** `cli(...args, '--json')`, parsed; fails the test on a non-zero exit. */
  json<T>(...args: string[]): Promise<T>;
  /** `cli(...args, '--json')` for commands that print one JSON object per line (logs). */
  jsonLines<T>(...args: string[]): Promise<T[]>;
  /** Resolves with the exit code once the daemon has exited. */
  exited: Promise<number | null>;
  /** Polls `predicate` (each poll may call the CLI) until true, or fails after `timeoutMs`. */
  waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
}

export function requireBuild(): void {
  if (!existsSync(DAEMON) || !existsSync(CLI) || !existsSync(path.join(ROOT, 'dist', 'agent-host.cjs'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  }
}

export function runCli(socket: string, args: string[], env: NodeJS.ProcessEnv = process.env, cli: string = CLI): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args, '--socket', socket], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface StartOptions {
  /** Extra environment (NOTIFY_SOCKET, OPENSTARRY_CONFIG...). */
  env?: NodeJS.ProcessEnv;
  args?: string[];
  /** Wait for the ready log line (default true); false for boots expected to fail. */
  waitReady?: boolean;
  /** Folder for home/ (default: a fresh temp folder). Short on purpose: a socket path is limited to 107 bytes. */
  dir?: string;
  /** Start it as `openstarry start` (the CLI running the daemon in the foreground) instead of openstarryd. */
  viaCli?: boolean;
  /** What runs the daemon bundle (default [process.execPath]): another Node, or qemu-aarch64-static + an arm64 Node. */
  runtime?: readonly string[];
  /** The daemon bundle (default this checkout's dist/openstarryd.js), e.g. one from an extracted package. */
  bundle?: string;
  /** The CLI bundle the test drives the daemon with, always on the host's Node (default dist/openstarry.js). */
  cli?: string;
  /** How long to wait for the ready line (default 30 s). */
  readyTimeoutMs?: number;
  /** Send its stdout and stderr to this file (a real file, as journald's stream is) instead of pipes. */
  outputFile?: string;
}

/** A fresh folder under the system temp dir, removed when the test ends. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'os-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes files (nested objects are folders) under `dir`. */
export function writeTree(dir: string, tree: Record<string, string | Record<string, unknown>>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(tree)) {
    const target = path.join(dir, name);
    if (typeof content === 'string') writeFileSync(target, content);
    else writeTree(target, content as Record<string, string | Record<string, unknown>>);
  }
}

export async function startDaemon(t: Test, options: StartOptions = {}): Promise<RunningDaemon> {
  if (options.bundle === undefined || options.cli === undefined) requireBuild();
  const cli = options.cli ?? CLI;
  const dir = options.dir ?? tempDir(t);
  const home = path.join(dir, 'home');
  mkdirSync(home, { recursive: true });
  // OPENSTARRY_SOCKET in `env` moves it (as the package does, to /run/openstarry): the CLI follows.
  const socket = options.env?.OPENSTARRY_SOCKET ?? path.join(home, 'openstarryd.sock');
  // Each test daemon gets its own embedded broker on a free port (tests run in parallel; 1883 is one port).
  const env: NodeJS.ProcessEnv = { ...process.env, ...DAEMON_ENV, OPENSTARRY_HOME: home, OPENSTARRY_EMBEDDED_BROKER: '127.0.0.1:0', OPENSTARRY_DASHBOARD: '127.0.0.1:0', ...options.env };
  if (!options.env?.NOTIFY_SOCKET) delete env.NOTIFY_SOCKET;
  const entry = options.viaCli ? [cli, 'start'] : [options.bundle ?? DAEMON];
  const [command, ...runtimeArgs] = options.runtime ?? [process.execPath];
  const fd = options.outputFile === undefined ? undefined : openSync(options.outputFile, 'a');
  const child = spawn(command as string, [...runtimeArgs, ...(options.viaCli ? [] : DAEMON_NODE_FLAGS), ...entry, ...(options.args ?? [])], { env, stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'] });
  if (fd !== undefined) closeSync(fd);
  let piped = '';
  child.stderr?.on('data', (c: Buffer) => (piped += c.toString()));
  child.stdout?.on('data', (c: Buffer) => (piped += c.toString()));
  const output = options.outputFile;
  const log = () => (output === undefined ? piped : readFileSync(output, 'utf8'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  });
  const daemon: RunningDaemon = {
    child,
    home,
    socket,
    log,
    cli: (...args) => runCli(socket, args, env, cli),
    json: async <T>(...args: string[]) => {
      const r = await runCli(socket, [...args, '--json'], env, cli);
      if (r.code !== 0) throw new Error(`openstarry ${args.join(' ')} --json exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    jsonLines: async <T>(...args: string[]) => {
      const r = await runCli(socket, [...args, '--json'], env, cli);
      if (r.code !== 0) throw new Error(`openstarry ${args.join(' ')} --json exited ${r.code}: ${r.stderr}`);
      return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
    },
    exited,
    waitFor: async (what, predicate, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (await predicate()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}; daemon log:\n${log()}`);
    },
  };
  if (options.waitReady !== false) {
    await daemon.waitFor('the daemon to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${log()}`);
      return / ready in \d+ ms/.test(log());
    }, options.readyTimeoutMs ?? 30_000);
  }
  return daemon;
}

/** Writes an agent folder (agent.json + modules) under `dir/<id>/` and returns its manifest path. */
export function agentFixture(manifest: Record<string, unknown>, modules: Record<string, string>): Record<string, string> {
  return { 'agent.json': JSON.stringify({ version: '1.0.0', ...manifest }, null, 2), ...modules };
}

/** A plugin that stays alive until stopped, optionally logging a marker on start. */
export function idlePlugin(marker = 'idle agent up'): string {
  return `export default { name: 'idle', start(ctx) { ctx.log.info(${JSON.stringify(marker)}); this.t = setInterval(() => {}, 60000); }, stop(ctx) { clearInterval(this.t); ctx.log.info('stopped cleanly'); } };\n`;
}

/**
 * A template folder holding copies of the shipped `master` and `hello-sensor` plus `extra` templates
 * (id -> files), and a config file pointing the daemon at it. Returns the config path.
 */
export function templatesWithConfig(dir: string, extra: Record<string, Record<string, string>> = {}, configExtra = ''): { config: string; templates: string } {
  const templates = path.join(dir, 'templates');
  for (const shipped of ['master', 'hello-sensor']) {
    cpDir(path.join(ROOT, 'agents', shipped), path.join(templates, shipped));
  }
  for (const [id, files] of Object.entries(extra)) writeTree(path.join(templates, id), files);
  const config = path.join(dir, 'openstarry.yaml');
  writeFileSync(config, `templates:\n  dir: ./templates\nagents:\n  stopGraceMs: 2000\n${configExtra}`);
  return { config, templates };
}

function cpDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) cpDir(path.join(from, entry.name), path.join(to, entry.name));
    else copyFileSync(path.join(from, entry.name), path.join(to, entry.name));
  }
}

/** Counts up in ctx.state every `everyMs` and logs where it resumed from. */
export function counterAgentEvery(everyMs: number): string {
  return `export default { name: 'counter', start(ctx) {
  const start = ctx.state.get()?.count ?? 0;
  ctx.log.info('resumed from ' + start);
  let count = start;
  this.t = setInterval(() => { count += 1; ctx.state.set({ count }); }, ${everyMs});
}, stop() { clearInterval(this.t); } };`;
}

/** Counts up in ctx.state every 20 ms and logs where it resumed from. */
export const counterAgent = counterAgentEvery(20);
