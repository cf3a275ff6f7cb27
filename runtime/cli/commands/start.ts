/**
 * `openstarry start [--config FILE]`: the daemon in the foreground, in this process (README "A short tour"; what
 * systemd's ExecStart runs). Imported lazily so every other command starts without loading daemon code.
 */
import path from 'node:path';
import type { Command } from '../args.ts';
import { stringOption } from '../args.ts';

export const start: Command = {
  name: 'start',
  summary: 'run the daemon in the foreground (exit 0 after a clean shutdown on SIGTERM/SIGINT)',
  synopsis: 'start [--config FILE] [--socket PATH]',
  details: ['', '  --config FILE  daemon config (YAML); default $OPENSTARRY_CONFIG, else built-in defaults'],
  options: { config: { type: 'string' } },
  args: [0, 0],
  async run(ctx) {
    const { runDaemon } = await import('../../daemon/run.ts');
    const config = stringOption(ctx.options, 'config');
    const options: { configFile?: string; socket?: string } = {};
    if (config !== undefined) options.configFile = path.resolve(ctx.io.cwd, config);
    // Only an explicit --socket; otherwise the daemon resolves OPENSTARRY_SOCKET / its home itself.
    if (ctx.socketFlag !== undefined) options.socket = ctx.socket;
    return runDaemon(options);
  },
};
