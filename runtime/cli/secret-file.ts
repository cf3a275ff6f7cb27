/**
 * A secret the CLI reads from a file named on its command line (`--password-file`, `--passphrase-file`), never from
 * an argument, which every local user can read in ps. The first line, as the link reads `mqtt.passwordFile` (README
 * "MQTT, remote triggers and rules"), so a file written by `echo` works.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext } from './args.ts';

/** The file's first line; undefined after printing `<command>: <file>: cannot be read: <code>` to stderr. */
export async function readSecretFile(ctx: CommandContext, command: string, given: string): Promise<string | undefined> {
  const file = path.resolve(ctx.io.cwd, given);
  try {
    return (await readFile(file, 'utf8')).split(/\r?\n/)[0] ?? '';
  } catch (err) {
    ctx.io.err(`openstarry: ${command}: ${file}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
}
