/** `openstarry templates [--json]` (README "A short tour"): valid templates, then the excluded ones and why. */
import type { TemplatesResult } from '../../control/protocol.ts';
import type { Command } from '../args.ts';
import { ExitCode } from '../args.ts';
import { formatTable } from '../format.ts';

export function templatesText(result: TemplatesResult): string {
  const rows = result.templates.map((t) => [t.id, t.version, t.isolation, t.source, t.hash.slice(0, 12), t.path]);
  const lines = [formatTable(['ID', 'VERSION', 'ISOLATION', 'SOURCE', 'HASH', 'PATH'], rows)];
  const r = result.remote;
  if (r) {
    const state = r.state === 'synced' ? `synced${r.syncedAt ? `, last full sync ${r.syncedAt}` : ''}` : `UNREACHABLE (${r.lastError ?? 'no answer'}); using the cache in ${r.cacheDir}${r.syncedAt ? ` from ${r.syncedAt}` : ''}`;
    lines.push('', `design layer ${r.url}: ${state}`);
  }
  if (result.invalid.length > 0) {
    lines.push('', 'invalid templates (excluded):');
    for (const bad of result.invalid) lines.push(`  ${bad.file}: ${bad.error.replaceAll('\n', '\n    ')}`);
  }
  return lines.join('\n');
}

export const templates: Command = {
  name: 'templates',
  summary: 'list the design layer\'s templates, and the invalid ones with their errors',
  synopsis: 'templates [--json]',
  args: [0, 0],
  async run(ctx) {
    const result = await ctx.call('templates.list');
    ctx.io.out(ctx.json ? JSON.stringify(result, null, 2) : templatesText(result));
    return ExitCode.OK;
  },
};
