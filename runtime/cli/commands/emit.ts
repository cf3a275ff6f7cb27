/**
 * `openstarry emit <event> [--data JSON]` (README "A short tour"): a boundary event as if it came from outside, fed to the
 * orchestrator (rules, then agents subscribed to it). Prints what happened: `accepted, N rule(s) fired` or the drop
 * reason (exit 1).
 */
import type { Command } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';

export const emit: Command = {
  name: 'emit',
  summary: 'inject a boundary event (as if from MQTT) into the orchestrator',
  synopsis: 'emit <event> [--data JSON] [--json]',
  details: ['', '  --data JSON  the event data, e.g. \'{"branch":"main"}\' (default: none)'],
  options: { data: { type: 'string' } },
  args: [1, 1],
  async run(ctx) {
    const raw = stringOption(ctx.options, 'data');
    let data: unknown;
    if (raw !== undefined) {
      try {
        data = JSON.parse(raw);
      } catch (err) {
        throw new UsageError(`emit: --data is not valid JSON: ${(err as Error).message}`);
      }
    }
    const result = await ctx.call('events.emit', data === undefined ? [ctx.args[0]] : [ctx.args[0], data]);
    if (ctx.json) ctx.io.out(JSON.stringify(result, null, 2));
    else if (result.accepted) ctx.io.out(`accepted, ${result.fired} rule(s) fired`);
    else ctx.io.err(`openstarry: event dropped: ${result.reason ?? 'unknown reason'}`);
    return result.accepted ? ExitCode.OK : ExitCode.FAILED;
  },
};
