/**
 * The daemon's own log: one line per event on stderr. Format in a terminal (or a file):
 *   2026-11-21T08:00:00.000Z info  boot: phase design done (12 ms) templates=3
 * When stderr is the journal (JOURNAL_STREAM matches it: journal-stream.ts), each line starts with its syslog
 * priority instead of a timestamp (journald stamps entries itself), per sd-daemon(3), so `journalctl -p warning`
 * selects by level:
 *   <6>info  boot: phase design done (12 ms) templates=3
 * A message spanning several lines (a stack trace) is several journal entries: every physical line carries the
 * prefix, so none of them falls back to the unit's default priority.
 */
import { stderrIsJournal } from './journal-stream.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** sd-daemon(3) / syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
const PRIORITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
  /** Changes the level of this logger and every child (the config is read after the logger exists). */
  setLevel(level: Level): void;
}

export interface LoggerOptions {
  level?: Level;
  write?: (line: string) => void;
  now?: () => Date;
  /** Priority prefixes instead of timestamps; default: stderr is the journal (only with the default sink). */
  journal?: boolean;
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const state = { level: options.level ?? 'info', write: options.write ?? ((line: string) => process.stderr.write(line)), now: options.now ?? (() => new Date()) };
  const journal = options.journal ?? (options.write === undefined && stderrIsJournal());
  const make = (name: string): Logger => {
    const emit = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < ORDER[state.level]) return;
      const text = `${level.padEnd(5)} ${name}: ${message}${formatFields(fields)}`;
      state.write(journal ? journalLines(PRIORITY[level], text) : `${state.now().toISOString()} ${text}\n`);
    };
    return {
      debug: emit('debug'),
      info: emit('info'),
      warn: emit('warn'),
      error: emit('error'),
      child: (c) => make(`${name}.${c}`),
      setLevel: (level) => {
        state.level = level;
      },
    };
  };
  return make(component);
}

/** Every physical line with the priority prefix; journald also ends a line at a NUL byte. */
function journalLines(priority: number, text: string): string {
  let out = '';
  for (const line of text.split(/\r?\n|\0/)) out += `<${priority}>${line}\n`;
  return out;
}

export function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const text = typeof v === 'string' ? v : jsonOrString(v);
    out += ` ${k}=${/\s/.test(text) ? JSON.stringify(text) : text}`;
  }
  return out;
}

/** A log call must never throw: BigInt and cycles make JSON.stringify throw; functions make it return undefined. */
function jsonOrString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A logger that drops everything (tests, or a caller that does not care). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger, setLevel() {} };
