#!/usr/bin/env node
/**
 * `openstarryd [--config FILE] [--socket PATH]` — the daemon's executable entry (dist/openstarryd.js). It turns V8's
 * compile cache on (compile-cache.ts) before it loads the rest of the daemon, and sets the daemon's V8 flags once it
 * is ready, off while a worker agent's thread boots (node-flags.ts says why).
 */
import module from 'node:module';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { enableCompileCache } from './compile-cache.ts';
import { DaemonV8Flags } from './node-flags.ts';
import { resolveHome } from './paths.ts';

const USAGE = 'usage: openstarryd [--config FILE] [--socket PATH]\n';

let values: { config?: string; socket?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    options: { config: { type: 'string', short: 'c' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }));
} catch (err) {
  process.stderr.write(`openstarryd: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
// Before the daemon's own modules are loaded (hence the dynamic import): they are what the cache is for.
enableCompileCache(resolveHome(), { enable: (module as { enableCompileCache?: (dir: string) => { status: number; directory?: string } }).enableCompileCache, env: process.env });
const { runDaemon } = await import('./run.ts');
const flags = new DaemonV8Flags((flag) => v8.setFlagsFromString(flag));
const code = await runDaemon({
  ...(values.config !== undefined ? { configFile: values.config } : {}),
  ...(values.socket !== undefined ? { socket: values.socket } : {}),
  onReady: () => flags.apply(),
  workerBootWindow: () => flags.workerBooting(),
});
process.exit(code);
