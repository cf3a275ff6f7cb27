/**
 * The `openstarry` command line (README "A short tour"): what a command is, the global options every command takes,
 * exit codes, and parsing with node:util parseArgs in strict mode so a typo is a usage error (exit 2), never
 * a silently ignored flag.
 */
import { parseArgs } from 'node:util';
import type { ControlClient, NotificationHandlers } from '../control/control-client.ts';
import type { MethodName, MethodResults } from '../control/protocol.ts';
import type { Env } from '../daemon/paths.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';

/** README "A short tour": 0 ok, 1 failed, 2 usage, 3 daemon not reachable. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

/** Wrong invocation (ERR_USAGE): main prints the message and the usage, and exits 2. The one error class, named for the stack. */
export class UsageError extends OpenStarryError {
  override readonly name = 'UsageError';

  constructor(message: string) {
    super(ErrorCode.USAGE, message);
  }
}

/** A usage error, told by its code (UsageError is only the name it is raised by). */
export function isUsageError(err: unknown): err is OpenStarryError {
  return err instanceof OpenStarryError && err.code === ErrorCode.USAGE;
}

/** Everything a command touches outside itself, injected so tests run commands in-process (docs/ARCHITECTURE.md "Injection: clock, processes, file system"). */
export interface CliIo {
  /** Writes one line (no trailing newline needed) to stdout. */
  out(line: string): void;
  /** Writes one line to stderr. */
  err(line: string): void;
  env: Env;
  cwd: string;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandContext {
  /** Positionals after the command name. */
  args: readonly string[];
  /** Values of the command's own and the global options. */
  options: OptionValues;
  json: boolean;
  /** The resolved control socket (--socket, else OPENSTARRY_SOCKET, else $OPENSTARRY_HOME/openstarryd.sock). */
  socket: string;
  /** --socket exactly as given, when it was. */
  socketFlag: string | undefined;
  io: CliIo;
  /** A connection to the daemon for commands that stay (logs -f); the caller closes it. */
  connect(): Promise<ControlClient>;
  /** One request on a fresh connection, closed afterwards; `on` gets the notifications it sends meanwhile (deploy.progress). */
  call<M extends MethodName>(method: M, params?: unknown[], on?: NotificationHandlers): Promise<MethodResults[M]>;
}

export interface Command {
  name: string;
  summary: string;
  /** What follows `openstarry ` in the usage line. */
  synopsis: string;
  /** Extra usage lines (option descriptions). */
  details?: readonly string[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** Allowed number of positionals: [min, max]. */
  args: readonly [number, number];
  run(ctx: CommandContext): Promise<number>;
}

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  socket: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface ParsedCommandLine {
  /** undefined only for a bare `openstarry --help`. */
  command: Command | undefined;
  args: string[];
  options: OptionValues;
  help: boolean;
  json: boolean;
  socketFlag: string | undefined;
}

function flatten(values: Record<string, unknown>): Record<string, string | boolean | undefined> {
  const out: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string' || typeof v === 'boolean') out[k] = v;
  return out;
}

/** Throws UsageError for an unknown command or option, a missing option value, or a wrong number of args. */
export function parseCommandLine(argv: readonly string[], commands: readonly Command[]): ParsedCommandLine {
  // First pass, lenient, only to find the command name: it knows every option that takes a value, so
  // `--socket /x ps` and `logs -n 5 pump` do not mistake an option's value for the command.
  const allOptions = Object.assign({}, GLOBAL_OPTIONS, ...commands.map((c) => c.options ?? {})) as Record<string, OptionSpec>;
  const loose = parseArgs({ args: [...argv], options: allOptions, strict: false, allowPositionals: true });
  const name = loose.positionals[0];
  const command = name === undefined ? undefined : commands.find((c) => c.name === name);
  if (name !== undefined && command === undefined) throw new UsageError(`unknown command "${name}"`);

  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) }, strict: true, allowPositionals: true });
  } catch (err) {
    // parseArgs' messages already name the option ("Unknown option '--x'", "Option '--socket <value>' argument missing").
    throw new UsageError(name === undefined ? (err as Error).message : `${name}: ${(err as Error).message}`);
  }
  const options = flatten(parsed.values);
  const help = options.help === true;
  if (command === undefined) {
    if (help) return { command, args: [], options, help, json: false, socketFlag: undefined };
    throw new UsageError('missing command');
  }
  const args = parsed.positionals.slice(1);
  const [min, max] = command.args;
  if (!help && (args.length < min || args.length > max)) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new UsageError(`${command.name}: expected ${expected} argument${max === 1 ? '' : 's'}, got ${args.length}`);
  }
  const socketFlag = typeof options.socket === 'string' ? options.socket : undefined;
  return { command, args, options, help, json: options.json === true, socketFlag };
}

export function stringOption(options: OptionValues, name: string): string | undefined {
  const v = options[name];
  return typeof v === 'string' ? v : undefined;
}

export function commandUsage(command: Command): string {
  return [`usage: openstarry ${command.synopsis}`, '', command.summary, ...(command.details ?? [])].join('\n');
}

export function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: openstarry <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options:',
    '  --socket PATH  the daemon\'s control socket (default: $OPENSTARRY_SOCKET, else $OPENSTARRY_HOME/openstarryd.sock)',
    '  --json         machine-readable output',
    '  -h, --help     this help; `openstarry help <command>` for one command',
    '',
    'exit codes: 0 ok, 1 failed, 2 usage, 3 daemon not reachable',
  ].join('\n');
}
