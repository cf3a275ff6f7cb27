/**
 * An agent's `ctx.state.set(json)` (README "Writing an agent") turned into what the state DB stores: plain JSON data, copied,
 * within a size cap. JSON.stringify alone is not a check: it throws on BigInt and cycles but silently turns a
 * function or a Map into nothing or `{}`, NaN into null and a Date into a string, so the agent would read back
 * something other than what it saved. Those are rejected here, with the path of the offending value.
 */
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { JsonValue } from './state-schema.ts';

/** Deeper than any real snapshot; stops a runaway structure before it overflows the stack. */
const MAX_DEPTH = 64;

export interface EncodedSnapshot {
  /** A deep copy, detached from the caller's object. */
  value: JsonValue;
  /** Its JSON text, also used to notice a set() that changes nothing. */
  text: string;
  bytes: number;
}

/** Throws ERR_STATE_INVALID (not plain JSON) or ERR_STATE_TOO_LARGE (over maxBytes of UTF-8 JSON). */
export function encodeSnapshot(agentId: string, value: unknown, maxBytes: number): EncodedSnapshot {
  checkJson(agentId, value, '', new Set(), 0);
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new OpenStarryError(ErrorCode.STATE_TOO_LARGE, `state of agent "${agentId}" is ${bytes} bytes, over the ${maxBytes}-byte cap`, {
      details: { agentId, bytes, maxBytes },
    });
  }
  return { value: JSON.parse(text) as JsonValue, text, bytes };
}

function checkJson(agentId: string, value: unknown, at: string, ancestors: Set<object>, depth: number): void {
  const invalid = (why: string): OpenStarryError =>
    new OpenStarryError(ErrorCode.STATE_INVALID, `state of agent "${agentId}" is not plain JSON: ${why} at ${at === '' ? '(root)' : at}`, {
      details: { agentId, path: at },
    });
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(`${value} (JSON stores it as null)`);
      return;
    case 'object':
      break;
    default:
      // undefined, function, symbol, bigint. (An undefined object property is allowed below: JSON drops the key,
      // and reading back a missing key gives the same undefined.)
      throw invalid(`a ${typeof value}`);
  }
  if (value === null) return;
  if (depth >= MAX_DEPTH) throw invalid(`nesting deeper than ${MAX_DEPTH}`);
  if (ancestors.has(value)) throw invalid('a cycle');
  ancestors.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJson(agentId, item, `${at}[${i}]`, ancestors, depth + 1));
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw invalid(`a ${(value as object).constructor?.name ?? 'non-plain object'}`);
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      checkJson(agentId, item, at === '' ? key : `${at}.${key}`, ancestors, depth + 1);
    }
  }
  // A value seen twice on different branches (a DAG) is fine: JSON writes it twice. Only a cycle is not.
  ancestors.delete(value);
}
