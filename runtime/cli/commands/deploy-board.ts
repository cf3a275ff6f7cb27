/**
 * The board's side of `openstarry deploy` (README "Deploying updates"), through the control socket:
 *   deploy <bundle.osb | templateId@version> [--health-window 30s]   prints each step as it happens, waits for
 *                                                                  the outcome: exit 0 only when committed, 1
 *                                                                  with the reason otherwise
 *   deploy list                                                     current, previous, kept and failed versions
 *   deploy rollback <templateId> [--health-window 30s]              back to the previous committed version
 * A bundle is sent as an absolute path: the daemon reads and verifies it (runtime/daemon/deploy-wiring.ts says why).
 */
import path from 'node:path';
import type { DeployProgress } from '../../deploy/deploy-types.ts';
import type { CommandContext } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';

export const DEPLOY_BOARD_OPTIONS = { 'health-window': { type: 'string' } } as const;

export const DEPLOY_BOARD_USAGE = [
  '  deploy <bundle.osb | templateId@version> [--health-window 30s]',
  '                      deploy on this board and wait: stage, swap, health window, commit or roll back,',
  '                      each step printed as it happens (exit 0 only when committed; --json: one object',
  '                      per line, the steps then the result); templateId@version runs a kept version again',
  '  deploy list         each deployed template: current, previous, kept and failed versions (with reasons)',
  '  deploy rollback <templateId> [--health-window 30s]',
  '                      go back to the previous committed version',
] as const;

async function healthWindow(ctx: CommandContext): Promise<{ healthWindowMs?: number }> {
  const raw = stringOption(ctx.options, 'health-window');
  if (raw === undefined) return {};
  // The rules' one duration parser, loaded only here: it brings zod, which no other CLI command needs at start.
  const { parseDuration } = await import('../../orchestrator/duration.ts');
  const ms = parseDuration(raw);
  // The config's range (deploy.healthWindowMs, 1000-3600000): a window of 0 would commit without watching.
  if (ms === undefined || ms < 1000 || ms > 3_600_000) throw new UsageError(`deploy: --health-window must be a duration such as 30s or 2m (1s to 1h), not "${raw}"`);
  return { healthWindowMs: ms };
}

/** A bundle argument becomes an absolute path; `id@version` stays as it is. */
export function deployTarget(arg: string, cwd: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*@[0-9][0-9A-Za-z.+-]*$/.test(arg) && !arg.includes('/') ? arg : path.resolve(cwd, arg);
}

/** One progress line: `<time> <id>@<version>: <step>` (README "Deploying updates" shows them). */
export function progressLine(p: DeployProgress): string {
  const step =
    p.phase === 'stopping' ? `stopping ${p.from ?? 'the running version'}`
    : p.phase === 'started' ? `started ${p.version}`
    : p.phase === 'watching' ? `watching health (window ${(p.windowMs ?? 0) / 1000}s)`
    : `${p.phase}${p.reason ? ` (${p.reason})` : ''}`;
  return `${p.at} ${p.templateId}@${p.version || '?'}: ${step}`;
}

/**
 * Runs a deployment request, printing each step as the daemon reports it (`deploy.progress` notifications); then
 * the steps the response lists that did not come as notifications (a daemon from before them sends none), then the
 * outcome. With --json: one JSON object per line, each progress event, then the result ({outcome, progress}).
 */
async function deployAndReport(ctx: CommandContext, method: 'deploy.apply' | 'deploy.rollback', params: unknown[]): Promise<number> {
  let shown = 0;
  const print = (p: DeployProgress): void => ctx.io.out(ctx.json ? JSON.stringify(p) : progressLine(p));
  const result = await ctx.call(method, params, {
    'deploy.progress': (p) => {
      shown += 1;
      print(p);
    },
  });
  for (const p of result.progress.slice(shown)) print(p);
  const o = result.outcome;
  if (ctx.json) ctx.io.out(JSON.stringify(result));
  else if (o.outcome === 'committed') ctx.io.out(`deploy: ${o.templateId}@${o.version} committed${o.previous ? ` (previous ${o.previous})` : ''}`);
  if (o.outcome === 'committed') return ExitCode.OK;
  ctx.io.err(`openstarry: deploy ${o.templateId}${o.version ? `@${o.version}` : ''} ${o.outcome}: ${o.reason}`);
  return ExitCode.FAILED;
}

export async function runDeployApply(ctx: CommandContext): Promise<number> {
  if (ctx.args.length !== 1) throw new UsageError('deploy: one bundle file or templateId@version');
  return deployAndReport(ctx, 'deploy.apply', [deployTarget(ctx.args[0] as string, ctx.io.cwd), await healthWindow(ctx)]);
}

export async function runDeployRollback(ctx: CommandContext): Promise<number> {
  const id = ctx.args[1];
  if (id === undefined || ctx.args.length !== 2) throw new UsageError('deploy rollback: the template id is required: deploy rollback <templateId>');
  return deployAndReport(ctx, 'deploy.rollback', [id, await healthWindow(ctx)]);
}

export async function runDeployList(ctx: CommandContext): Promise<number> {
  if (ctx.args.length !== 1) throw new UsageError('deploy list takes no arguments');
  const { templates } = await ctx.call('deploy.list');
  if (ctx.json) {
    ctx.io.out(JSON.stringify({ templates }, null, 2));
    return ExitCode.OK;
  }
  if (templates.length === 0) ctx.io.out('no deployments on this board');
  for (const t of templates) {
    ctx.io.out(`${t.templateId}: current ${t.current ?? '-'}, previous ${t.previous ?? '-'}, kept ${t.kept.join(' ') || '-'}`);
    for (const f of t.failed) ctx.io.out(`  failed ${f.version} at ${f.at}: ${f.reason}`);
  }
  return ExitCode.OK;
}
