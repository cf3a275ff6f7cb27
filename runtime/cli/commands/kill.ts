/** `openstarry kill <pid> [--signal SIGTERM|SIGKILL]` (README "A short tour"): prints `<pid> <state>`. */
import type { KillSignal } from '../../control/protocol.ts';
import type { Command } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';

const SIGNALS: readonly KillSignal[] = ['SIGTERM', 'SIGKILL'];

export const kill: Command = {
  name: 'kill',
  summary: 'stop an agent (SIGTERM: its plugins stop cleanly; SIGKILL: now)',
  synopsis: 'kill <pid> [--signal SIGTERM|SIGKILL] [--json]',
  options: { signal: { type: 'string' } },
  args: [1, 1],
  async run(ctx) {
    const raw = stringOption(ctx.options, 'signal') ?? 'SIGTERM';
    // Accept `TERM` / `kill` as kill(1) users type them; send the canonical name.
    const signal = (raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`) as KillSignal;
    if (!SIGNALS.includes(signal)) throw new UsageError(`kill: --signal must be SIGTERM or SIGKILL, not "${raw}"`);
    const status = await ctx.call('killAgent', [ctx.args[0], signal]);
    ctx.io.out(ctx.json ? JSON.stringify(status, null, 2) : `${status.pid} ${status.state}`);
    return ExitCode.OK;
  },
};
