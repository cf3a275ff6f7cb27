/**
 * The daemon's own log: one line per event on stderr, which systemd hands to journald (no timestamps needed
 * there, but they help when the daemon runs in a terminal, so they are kept). Format:
 *   2026-11-21T08:00:00.000Z info  boot: phase design done (12 ms) templates=3
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

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
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const state = { level: options.level ?? 'info', write: options.write ?? ((line: string) => process.stderr.write(line)), now: options.now ?? (() => new Date()) };
  const make = (name: string): Logger => {
    const emit = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < ORDER[state.level]) return;
      state.write(`${state.now().toISOString()} ${level.padEnd(5)} ${name}: ${message}${formatFields(fields)}\n`);
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
