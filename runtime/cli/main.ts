/**
 * The `openstarry` command (README "A short tour"). `main(argv)` returns the exit code instead of exiting, so tests
 * run commands in-process; bin.ts (the bundle's entry) and the entry guard below turn it into process.exit.
 */
import { ControlClient } from '../control/control-client.ts';
import { resolveHome, resolveSocket } from '../daemon/paths.ts';
import { ErrorCode, errorToWire, exitCodeOf } from '../errors.ts';
import type { CliIo, CommandContext, ParsedCommandLine } from './args.ts';
import { commandUsage, ExitCode, isUsageError, parseCommandLine, usage } from './args.ts';
import { commands } from './commands/index.ts';

export function processIo(): CliIo {
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

function context(parsed: ParsedCommandLine, io: CliIo): CommandContext {
  const home = resolveHome(io.env, process.getuid?.() === 0, io.cwd);
  const socket = resolveSocket(io.env, home, parsed.socketFlag, io.cwd);
  const connect = (): Promise<ControlClient> => ControlClient.connect(socket);
  return {
    args: parsed.args,
    options: parsed.options,
    json: parsed.json,
    socket,
    socketFlag: parsed.socketFlag,
    io,
    connect,
    call: (method, params = [], on) => ControlClient.callOnce(socket, method, params, on === undefined ? {} : { notifications: on }),
  };
}

/** Runs one command line; resolves the exit code (0 ok, 1 failed, 2 usage, 3 daemon not reachable). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let parsed: ParsedCommandLine;
  try {
    parsed = parseCommandLine(argv, commands);
  } catch (err) {
    if (!isUsageError(err)) throw err;
    io.err(`openstarry: ${err.message}`);
    io.err(usage(commands));
    return exitCodeOf(err.code);
  }
  const { command } = parsed;
  if (parsed.help || command === undefined) {
    io.out(command === undefined ? usage(commands) : commandUsage(command));
    return ExitCode.OK;
  }
  try {
    return await command.run(context(parsed, io));
  } catch (err) {
    if (isUsageError(err)) {
      io.err(`openstarry: ${err.message}`);
      io.err(commandUsage(command));
      return exitCodeOf(err.code);
    }
    const wire = errorToWire(err);
    // Issue 11 spells this line exactly ("permission denied on <socket>: add yourself to group <group>"): no prefix.
    if (wire.code === ErrorCode.SOCKET_PERMISSION_DENIED) {
      io.err(wire.message);
      return exitCodeOf(wire.code);
    }
    io.err(`openstarry: ${wire.message}`);
    return exitCodeOf(wire.code);
  }
}

/** Runs `main` on this process's arguments and exits with its code. */
export async function runAsEntry(): Promise<void> {
  // `openstarry ps | head` closes stdout early; that is the reader's choice, not a failure to report.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? ExitCode.OK : ExitCode.FAILED));
  process.exit(await main(process.argv.slice(2)));
}
