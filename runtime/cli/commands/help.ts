/** `openstarry help [command]`. The command table is passed in, so this file does not import the others. */
import type { Command } from '../args.ts';
import { commandUsage, ExitCode, UsageError, usage } from '../args.ts';

export function helpCommand(all: () => readonly Command[]): Command {
  return {
    name: 'help',
    summary: 'show this help, or one command\'s',
    synopsis: 'help [command]',
    args: [0, 1],
    async run(ctx) {
      const name = ctx.args[0];
      if (name === undefined) {
        ctx.io.out(usage(all()));
        return ExitCode.OK;
      }
      const command = all().find((c) => c.name === name);
      if (command === undefined) throw new UsageError(`unknown command "${name}"`);
      ctx.io.out(commandUsage(command));
      return ExitCode.OK;
    },
  };
}
