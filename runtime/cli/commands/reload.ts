/**
 * `openstarry reload [--json]`: what `systemctl reload openstarryd` (SIGHUP) does, answered when done — the rules file,
 * the local templates and the dashboard's token file read and validated again (runtime/daemon/reload.ts). Prints what changed and every problem
 * as `file: field: reason` (exit 1 when there were problems: the running rules stay, a broken template keeps its last
 * good version).
 */
import type { ReloadReport } from '../../control/protocol.ts';
import type { Command } from '../args.ts';
import { ExitCode } from '../args.ts';

/** One line for `status` and the head of `reload`'s answer. */
export function reloadLine(r: ReloadReport): string {
  const t = r.templates;
  const changes = [
    ...(t.added.length ? [`added ${t.added.join(' ')}`] : []),
    ...(t.changed.length ? [`changed ${t.changed.join(' ')}`] : []),
    ...(t.removed.length ? [`removed ${t.removed.join(' ')}`] : []),
    ...(t.kept.length ? [`last good version kept: ${t.kept.join(' ')}`] : []),
  ];
  const rules = `${r.rules.count} rule(s)${r.rules.replaced ? '' : ' (not replaced)'}`;
  const token = r.dashboard === undefined || r.dashboard.token === 'none' ? '' : `; dashboard token ${r.dashboard.token === 'kept' ? 'kept (its file gave none)' : r.dashboard.token}`;
  return `${r.ok ? 'ok' : `${r.errors.length} problem(s)`} at ${r.at} (${r.trigger === 'signal' ? 'SIGHUP' : 'openstarry reload'}): ${rules}, ${t.valid} template(s)${changes.length ? `; ${changes.join('; ')}` : ''}${token}`;
}

export const reload: Command = {
  name: 'reload',
  summary: 'read the rules file, the local templates and the dashboard token again (as systemctl reload / SIGHUP)',
  synopsis: 'reload [--json]',
  args: [0, 0],
  async run(ctx) {
    const report = await ctx.call('daemon.reload');
    if (ctx.json) ctx.io.out(JSON.stringify(report, null, 2));
    else {
      ctx.io.out(`reload: ${reloadLine(report)}`);
      for (const e of report.errors) ctx.io.err(e);
    }
    return report.ok ? ExitCode.OK : ExitCode.FAILED;
  },
};
