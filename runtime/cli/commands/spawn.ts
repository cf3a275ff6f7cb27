/**
 * `openstarry spawn <template-id | path/to/agent.json> [--isolation ...]` (README "A short tour"). A path is sent
 * absolute, because the daemon's working directory is not the user's.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { IAgentStatus } from '../../control/protocol.ts';
import { ISOLATIONS } from '../../design/isolations.ts';
import type { Command } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';

function kind(p: string): 'file' | 'dir' | undefined {
  try {
    const s = statSync(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : undefined;
  } catch {
    return undefined;
  }
}

/** A template id stays as it is; anything that looks like a path becomes an absolute manifest path. */
export function spawnTarget(arg: string, cwd: string): string {
  const candidate = path.resolve(cwd, arg);
  const looksLikePath = arg.includes('/') || arg.includes(path.sep) || arg.endsWith('.json') || kind(candidate) === 'file';
  if (!looksLikePath) return arg;
  // `spawn ./agents/thermostat` means the agent folder's manifest.
  const manifest = path.join(candidate, 'agent.json');
  return kind(candidate) === 'dir' && kind(manifest) === 'file' ? manifest : candidate;
}

/** A spawn that returned an agent already dead (its start threw, its module did not load) is a failure. */
/** Crashed, ended with an error, or already waiting to restart after its first start failed. */
export function failedAgent(status: IAgentStatus): boolean {
  return status.state === 'crashed' || status.state === 'restarting' || (status.state === 'exited' && status.exitCode !== undefined && status.exitCode !== 0);
}

export const spawn: Command = {
  name: 'spawn',
  summary: 'start an agent from a template id or an agent.json; prints its pid',
  synopsis: 'spawn <template-id | path/to/agent.json> [--isolation worker|process|docker|wasm] [--json]',
  options: { isolation: { type: 'string' } },
  args: [1, 1],
  async run(ctx) {
    const isolation = stringOption(ctx.options, 'isolation');
    if (isolation !== undefined && !(ISOLATIONS as readonly string[]).includes(isolation)) {
      throw new UsageError(`spawn: --isolation must be one of ${ISOLATIONS.join(', ')}`);
    }
    const target = spawnTarget(ctx.args[0] as string, ctx.io.cwd);
    const status = await ctx.call('spawnAgent', isolation === undefined ? [target] : [target, { isolation }]);
    ctx.io.out(ctx.json ? JSON.stringify(status, null, 2) : status.pid);
    if (failedAgent(status)) {
      const reason = status.reason ?? (status.exitCode !== undefined ? `exit code ${status.exitCode}` : status.state);
      const what = status.state === 'restarting' ? 'crashed (the restart policy will try again)' : 'crashed';
      ctx.io.err(`openstarry: agent ${status.agentId} (pid ${status.pid}) ${what}: ${reason}`);
      return ExitCode.FAILED;
    }
    return ExitCode.OK;
  },
};
