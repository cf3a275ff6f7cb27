/**
 * Boundary event names and patterns (README "Writing an agent"; README "MQTT, remote triggers and rules"), shared by the agent side (ctx.events), the daemon's
 * events service and the orchestrator. Pure: no node:* imports.
 *
 * A name is one or more levels of [A-Za-z0-9_.-] joined by ":" or "/", at most EVENT_NAME_MAX characters:
 * `alert:server_down`, `git:commit_pushed`, `climate/too_hot`, `gpio:pir:rising`, `sensor:env0.temperature`.
 * It is always a valid MQTT topic suffix (`event/<name>`, `out/<name>`): no `+`, `#`, spaces, empty levels.
 *
 * A pattern is a name in which a level may be `*` or contain `*`:
 *   - a final level that is exactly `*` matches one or more remaining levels (`climate/*` matches `climate/a/b`);
 *   - any other `*` matches within one level (`agent:*:crashed`, `sensor:env0.*`);
 *   - `*` alone matches every name.
 * Capability resources cannot contain ":" (it separates kind, resource and operation), so in an `events:` grant
 * the separators "/" and ":" are interchangeable: `events:alert/*:subscribe` covers `alert:server_down`.
 */
import { messageSizeOver } from './message-size.ts';

export const EVENT_NAME_MAX = 200;
/** Largest event payload, serialised as JSON (agents, rules, MQTT and `openstarry emit` alike). */
export const EVENT_DATA_MAX_CHARS = 64 * 1024;

const LEVEL = '[A-Za-z0-9_.\\-]+';
const NAME = new RegExp(`^${LEVEL}(?:[:/]${LEVEL})*$`);
const PATTERN = /^[A-Za-z0-9_.\-*]+(?:[:/][A-Za-z0-9_.\-*]+)*$/;

/** Why `name` is not an event name, or undefined when it is one. */
export function eventNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'an event name must be a non-empty string';
  if (name.length > EVENT_NAME_MAX) return `event name is longer than ${EVENT_NAME_MAX} characters`;
  if (!NAME.test(name)) return `"${name}" is not an event name (levels of letters, digits, "_", "." or "-" joined by ":" or "/")`;
  return undefined;
}

/** Why `pattern` is not an event pattern, or undefined when it is one. */
export function eventPatternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || pattern.length === 0) return 'an event pattern must be a non-empty string';
  if (pattern.length > EVENT_NAME_MAX) return `event pattern is longer than ${EVENT_NAME_MAX} characters`;
  if (!PATTERN.test(pattern)) return `"${pattern}" is not an event pattern (levels of letters, digits, "_", ".", "-" or "*" joined by ":" or "/")`;
  return undefined;
}

export type EventMatcher = (name: string) => boolean;

/**
 * Compiles a pattern (already checked with eventPatternProblem) into a matcher. With `anySeparator`, "/" and ":"
 * in the pattern each match either separator (used for capability grants, see above).
 */
export function compileEventPattern(pattern: string, options?: { anySeparator?: boolean }): EventMatcher {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*') && options?.anySeparator !== true) return (name) => name === pattern;
  const levels = pattern.split(/([:/])/);
  let source = '';
  for (let i = 0; i < levels.length; i++) {
    const part = levels[i] ?? '';
    if (i % 2 === 1) {
      source += options?.anySeparator === true ? '[:/]' : `\\${part}`;
      continue;
    }
    if (part === '*' && i === levels.length - 1) source += '.+';
    else source += part.split('*').map(escapeRegExp).join('[^:/]*');
  }
  const re = new RegExp(`^${source}$`);
  return (name) => re.test(name);
}

function escapeRegExp(text: string): string {
  // Levels hold only [A-Za-z0-9_.-] besides *, so "." is the one character with a meaning in a RegExp.
  return text.replace(/\./g, '\\.');
}

/** The event payload as plain JSON text within the cap, or the reason it cannot be one. */
export function serialiseEventData(data: unknown): { text: string } | { error: string } {
  let text: string | undefined;
  // Clearly too large (a rough measure that stops early, core/message-size.ts): refused without building the JSON.
  const rough = messageSizeOver(data, EVENT_DATA_MAX_CHARS * 16);
  if (rough !== undefined) return { error: `event data is more than ${rough} characters as JSON, more than ${EVENT_DATA_MAX_CHARS}` };
  try {
    text = JSON.stringify(data === undefined ? null : data);
  } catch (err) {
    return { error: `event data is not plain JSON: ${(err as Error).message}` };
  }
  if (text === undefined) return { error: 'event data is not plain JSON (a function or a symbol)' };
  if (text.length > EVENT_DATA_MAX_CHARS) return { error: `event data is ${text.length} characters as JSON, more than ${EVENT_DATA_MAX_CHARS}` };
  return { text };
}
