/** `openstarry deploy status` as it runs (deploy-status.ts has its options, usage and exit codes; README "Deploying updates"). */
import type { CommandContext } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';
import { readSecretFile } from '../secret-file.ts';

/** A topic root: one or more levels, no wildcard, no empty level. */
const ROOT = /^[^/#+\s]+(?:\/[^/#+\s]+)*$/;
const DEFAULT_TIMEOUT_MS = 3_000;

export async function runDeployStatus(ctx: CommandContext): Promise<number> {
  if (ctx.args.length !== 1) throw new UsageError('deploy status takes no arguments: deploy status --broker URL [--group G]');
  const broker = stringOption(ctx.options, 'broker');
  if (broker === undefined) throw new UsageError('deploy status: --broker URL is required (mqtt://host:1883, mqtts://...)');
  if (!/^(mqtts?|wss?):\/\/[^/]/.test(broker)) throw new UsageError(`deploy status: --broker "${broker}" must be an mqtt://, mqtts://, ws:// or wss:// URL`);
  const root = (stringOption(ctx.options, 'prefix') ?? 'openstarry').replace(/\/+$/, '');
  if (!ROOT.test(root)) throw new UsageError(`deploy status: --prefix "${root}" must be topic levels without wildcards (e.g. openstarry, farm/north)`);
  const group = stringOption(ctx.options, 'group');
  const username = stringOption(ctx.options, 'username');
  const passwordFile = stringOption(ctx.options, 'password-file');
  if (passwordFile !== undefined && username === undefined) throw new UsageError('deploy status: --password-file needs --username');
  const timeoutMs = await timeout(stringOption(ctx.options, 'timeout'));
  let password: string | undefined;
  if (passwordFile !== undefined) {
    password = await readSecretFile(ctx, 'deploy status', passwordFile);
    if (password === undefined) return ExitCode.FAILED;
  }
  const { readFleetTable } = await import('../../fleet/fleet-status-reader.ts');
  const { formatFleetTable } = await import('../../fleet/fleet-table.ts');
  const table = await readFleetTable({ broker, root, timeoutMs, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) });
  const rows = table.rows(group);
  ctx.io.out(ctx.json ? JSON.stringify(rows, null, 2) : formatFleetTable(rows));
  const failed = rows.filter((r) => r.problem !== undefined || r.status?.phase === 'rolled-back' || r.status?.phase === 'refused');
  if (failed.length > 0) {
    ctx.io.err(`openstarry: deploy status: ${failed.length} board(s) rolled back or refused: ${failed.map((r) => r.device).join(', ')}`);
    return ExitCode.FAILED;
  }
  if (rows.length === 0) {
    ctx.io.err(`openstarry: deploy status: no board${group !== undefined ? ` of group ${group}` : ''} under ${root}/ on ${broker}`);
    return ExitCode.FAILED;
  }
  return ExitCode.OK;
}

async function timeout(raw: string | undefined): Promise<number> {
  if (raw === undefined) return DEFAULT_TIMEOUT_MS;
  // The rules' one duration parser, loaded only here (it brings zod), as `deploy --health-window` does.
  const { parseDuration } = await import('../../orchestrator/duration.ts');
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 100 || ms > 600_000) throw new UsageError(`deploy status: --timeout must be a duration such as 3s (100ms to 10m), not "${raw}"`);
  return ms;
}
