/**
 * Rule conditions (`if:`, README "MQTT, remote triggers and rules"): CEL, the Common Expression Language, through @marcbachmann/cel-js — a
 * parser and tree-walking evaluator with no `eval`/`new Function`, no loops (CEL is not Turing complete), no
 * access to JavaScript prototypes (`x.constructor`, `__proto__` are "no such key" / reserved), and type checking
 * before evaluation. The spec's `branch == 'main'` is valid CEL as written.
 *
 * What an expression sees: each top-level field of the event's data as a variable (`branch`, `value`), plus
 * `event` = { name, source, data } (`event` wins over a data field of that name). Everything is plain JSON copied
 * into null-prototype objects. Standard CEL functions are available (`size`, `startsWith`, `matches`, `has`,
 * `exists`, `int`, `double`, `timestamp`, ...); nothing else is registered.
 *
 * At load time: a syntax error, an unknown function or a non-boolean result type is an error (the loader names
 * the rule). At run time: a missing variable or a type mismatch (`value > 30` on a string) makes the condition
 * false and is counted by the engine, never thrown at the event source.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { JsonValue } from '../core/plugin.ts';

/** Longest condition text; a rules file is hand-written, a 2 KiB expression is already unreadable. */
export const CONDITION_MAX_CHARS = 2048;

const env = new Environment({
  unlistedVariablesAreDyn: true,
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 1000, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
});

const KNOWN_FUNCTIONS = new Set<string>([
  ...env.getDefinitions().functions.map((f) => f.name),
  // Macros are expanded by the parser and are not listed among the definitions.
  'has', 'all', 'exists', 'exists_one', 'map', 'filter',
]);

export interface ConditionResult {
  /** True only when the expression evaluated to the boolean true. */
  value: boolean;
  /** Why it could not be evaluated (missing variable, type mismatch), when it could not. */
  error?: string;
}

export interface CompiledCondition {
  readonly source: string;
  evaluate(vars: ConditionVariables): ConditionResult;
}

export interface ConditionVariables {
  name: string;
  source: string;
  data: JsonValue;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}

/** Why `source` is not a usable condition, or the compiled condition. */
export function compileCondition(source: string): CompiledCondition | { error: string } {
  if (source.trim().length === 0) return { error: 'empty expression' };
  if (source.length > CONDITION_MAX_CHARS) return { error: `expression is longer than ${CONDITION_MAX_CHARS} characters` };
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    return { error: `syntax error: ${firstLine(err)}` };
  }
  const checked = parsed.check();
  if (!checked.valid) {
    const message = firstLine(checked.error);
    const overload = /no matching overload for '(?:[A-Za-z0-9_<>, ]+\.)?([A-Za-z_][A-Za-z0-9_]*)\(/.exec(message);
    if (overload?.[1] !== undefined && !KNOWN_FUNCTIONS.has(overload[1])) return { error: `unknown function "${overload[1]}"` };
    return { error: message };
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') return { error: `must be a boolean expression (it is ${checked.type ?? 'unknown'})` };
  return {
    source,
    evaluate(vars) {
      let result: unknown;
      try {
        result = parsed(conditionContext(vars));
      } catch (err) {
        return { value: false, error: firstLine(err) };
      }
      if (typeof result !== 'boolean') return { value: false, error: `the expression gave ${typeof result}, not a boolean` };
      return { value: result };
    },
  };
}

/** Plain JSON into null-prototype objects: no inherited member can ever be looked up as a variable or a key. */
function toPlain(value: JsonValue): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value)) out[key] = toPlain(value[key] as JsonValue);
    return out;
  }
  return value;
}

function conditionContext(vars: ConditionVariables): Record<string, unknown> {
  const data = toPlain(vars.data);
  const ctx = Object.create(null) as Record<string, unknown>;
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) Object.assign(ctx, data);
  const event = Object.create(null) as Record<string, unknown>;
  event.name = vars.name;
  event.source = vars.source;
  event.data = data;
  ctx.event = event;
  return ctx;
}
