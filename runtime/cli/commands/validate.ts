/**
 * `openstarry validate <file>` (README "A short tour"): local, no daemon. The work is in validate-file.ts, imported when
 * this command runs, so every other command starts without parsing the schemas (issue 12: an instant CLI).
 */
import type { Command } from '../args.ts';

export const validate: Command = {
  name: 'validate',
  summary: 'check an agent manifest/template, daemon config, rules file or board profile (no daemon needed)',
  synopsis: 'validate <file>',
  args: [1, 1],
  async run(ctx) {
    const { validateFile } = await import('./validate-file.ts');
    return validateFile(ctx.args[0] as string, ctx.io);
  },
};
