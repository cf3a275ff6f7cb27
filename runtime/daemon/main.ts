#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * `openstarryd [--config FILE] [--socket PATH]` — the daemon's executable entry (dist/openstarryd.js).
 */
import { parseArgs } from 'node:util';
import { runDaemon } from './run.ts';

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
const code = await runDaemon({
  ...(values.config !== undefined ? { configFile: values.config } : {}),
  ...(values.socket !== undefined ? { socket: values.socket } : {}),
});
process.exit(code);
