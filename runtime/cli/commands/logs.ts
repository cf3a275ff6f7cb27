/**
 * `openstarry logs <pid|agent-id> [-f] [-n N]` (README "A short tour"). With -f it follows until Ctrl-C (exit 0) or
 * until the daemon goes away (exit 3, like any other "daemon not reachable").
 */
import type { LogLine } from '../../control/protocol.ts';
import type { Command } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';

export function formatLogLine(line: LogLine): string {
  const fields = line.fields !== undefined && Object.keys(line.fields).length > 0 ? ` ${JSON.stringify(line.fields)}` : '';
  return `${line.time} ${line.level} ${line.agentId}[${line.pid}] ${line.message}${fields}`;
}

function lineCount(raw: string | undefined, follow: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  // The protocol allows 0 only when following (just the new lines); 10000 is its upper bound.
  if (!Number.isInteger(n) || n < (follow ? 0 : 1) || n > 10_000) {
    throw new UsageError(`logs: --lines must be an integer from ${follow ? 0 : 1} to 10000, not "${raw}"`);
  }
  return n;
}

export const logs: Command = {
  name: 'logs',
  summary: 'print an agent\'s log lines; -f keeps following',
  synopsis: 'logs <pid|agent-id> [-f|--follow] [-n|--lines N]',
  details: ['', '  -n, --lines N  how many recent lines (default 50)', '  -f, --follow   keep printing new lines until Ctrl-C'],
  options: { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' } },
  args: [1, 1],
  async run(ctx) {
    const follow = ctx.options.follow === true;
    const lines = lineCount(stringOption(ctx.options, 'lines'), follow);
    const params = [ctx.args[0], ...(lines === undefined ? [] : [{ lines }])];
    const print = (l: LogLine): void => ctx.io.out(ctx.json ? JSON.stringify(l) : formatLogLine(l));
    if (!follow) {
      for (const l of await ctx.call('logs.read', params)) print(l);
      return ExitCode.OK;
    }
    const client = await ctx.connect();
    let interrupted = false;
    const stopListening = ctx.io.onInterrupt(() => {
      interrupted = true;
      client.close();
    });
    try {
      // Lines can arrive in the same read as the backlog's answer; hold them until the backlog is printed.
      let early: LogLine[] | undefined = [];
      client.onNotification('logs.line', (l) => (early === undefined ? print(l) : early.push(l)));
      client.onNotification('logs.dropped', ({ dropped }) => ctx.io.err(`openstarry: ${dropped} log lines dropped (output too slow)`));
      for (const l of await client.call('logs.follow', params)) print(l);
      for (const l of early) print(l);
      early = undefined;
      await client.closed;
      if (interrupted) return ExitCode.OK;
      ctx.io.err(`openstarry: openstarryd at ${client.socketPath} closed the connection`);
      return ExitCode.UNREACHABLE;
    } catch (err) {
      if (interrupted) return ExitCode.OK;
      throw err;
    } finally {
      stopListening();
      client.close();
    }
  },
};
