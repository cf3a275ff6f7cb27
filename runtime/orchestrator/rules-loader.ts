/**
 * Loads `orchestration.yaml` (README "MQTT, remote triggers and rules"): YAML (the yaml package), then the zod schema, then the semantic
 * checks the schema cannot express (actions, event patterns, CEL conditions, timer and sensor sources). Every
 * problem is reported at once, each naming the file, the rule index and the field:
 *   orchestration.yaml: rules[1].if: unknown function "foo"
 * The same function serves the daemon at boot and `openstarry validate`.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ErrorCode, OpenStarryError } from '../core/errors.ts';
import { compileEventPattern, eventNameProblem, eventPatternProblem } from '../core/event-names.ts';
import { AGENT_ID } from '../design/manifest-schema.ts';
import type { Problem } from '../validation.ts';
import { formatProblems } from '../validation.ts';
import { MAX_YAML_DEPTH, yamlTooDeepAt } from '../yaml-nesting.ts';
import { compileCondition } from './condition.ts';
import type { JsonValue } from '../core/plugin.ts';
import type { ActionSpec, ActionVerb, CompiledRule, RuleAction, RuleSet, SensorWatch } from './rules-schema.ts';
import { ACTION_VERBS, RULES_LIMITS, rulesFileSchema } from './rules-schema.ts';

const DEFAULT_SENSOR_EVERY_MS = 10_000;
const ACTION_CALL = /^\s*(spawn|kill|notify|publish)\s*\(\s*([^()\s]*)\s*\)\s*$/;
const SENSOR_ON = /^sensor:([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const GPIO_ON = /^gpio:([^:]+):(rising|falling|\*)$/;

/** `rules[1].if`: indices in brackets, as a YAML user reads them. */
export function rulesPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

function fail(file: string, problems: Problem[]): never {
  throw new OpenStarryError(ErrorCode.RULES_INVALID, formatProblems(file, problems), { details: { file, problems } });
}

function checkAction(spec: ActionSpec, path: string, problems: Problem[]): RuleAction | undefined {
  let verb: string;
  let target: string;
  let data: JsonValue | undefined;
  if (typeof spec === 'string') {
    const m = ACTION_CALL.exec(spec);
    if (!m) {
      problems.push({ path, message: `"${spec}" is not an action (one of ${ACTION_VERBS.map((v) => `${v}(<target>)`).join(', ')})` });
      return undefined;
    }
    verb = m[1] as string;
    target = m[2] as string;
  } else {
    const verbs = ACTION_VERBS.filter((v) => spec[v] !== undefined);
    if (verbs.length !== 1) {
      problems.push({ path, message: `an action object has exactly one of ${ACTION_VERBS.join(', ')} (found ${verbs.length === 0 ? 'none' : verbs.join(', ')})` });
      return undefined;
    }
    verb = verbs[0] as string;
    target = spec[verbs[0] as ActionVerb] as string;
    data = spec.data;
    if (data !== undefined && verb !== 'publish') {
      problems.push({ path: `${path}.data`, message: `only publish takes data` });
      return undefined;
    }
  }
  if (verb === 'publish') {
    const problem = eventNameProblem(target);
    if (problem !== undefined) {
      problems.push({ path, message: `publish: ${problem}` });
      return undefined;
    }
    return data === undefined ? { verb, target } : { verb, target, data };
  }
  if (!AGENT_ID.test(target)) {
    problems.push({ path, message: `${verb}: "${target}" is not an agent or template id (lowercase letters, digits, ".", "_", "-", starting with a letter)` });
    return undefined;
  }
  return { verb: verb as 'spawn' | 'kill' | 'notify', target };
}

/** Parses and validates rules text; throws ERR_RULES_INVALID listing every problem (`details.problems`). */
export function parseRulesFile(text: string, file: string): RuleSet {
  if (text.length > RULES_LIMITS.maxFileChars) fail(file, [{ path: '', message: `larger than ${RULES_LIMITS.maxFileChars} characters` }]);
  // Before the recursive YAML parser sees it (yaml-nesting.ts: a deep enough text aborts the process).
  const deepAt = yamlTooDeepAt(text);
  if (deepAt !== undefined) fail(file, [{ path: '', message: `not valid YAML: nested deeper than ${MAX_YAML_DEPTH} levels at line ${deepAt}` }]);
  // prettyErrors: the first line of each message then says "at line L, column C".
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    fail(file, doc.errors.map((e) => ({ path: '', message: `not valid YAML: ${(e.message.split('\n')[0] ?? e.message).replace(/:$/, '')}` })));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // toJS resolves aliases: `*nope` with no anchor, or more than maxAliasCount, throws a ReferenceError of its own.
    fail(file, [{ path: '', message: `not valid YAML: ${(err as Error).message}` }]);
  }
  const parsed = rulesFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    fail(
      file,
      parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: rulesPath([...issue.path, key]), message: `unknown key "${key}"` }))
          : [{ path: rulesPath(issue.path), message: issue.message }],
      ),
    );
  }
  const problems: Problem[] = [];
  const timers = parsed.data.timers.map((t) => ({ name: t.name, everyMs: t.every }));
  const timerNames = new Set<string>();
  parsed.data.timers.forEach((t, i) => {
    if (timerNames.has(t.name)) problems.push({ path: `timers[${i}].name`, message: `duplicate timer name "${t.name}"` });
    timerNames.add(t.name);
  });

  const sensors = new Map<string, SensorWatch>();
  const gpioDevices = new Set<string>();
  let gpioAllInputs = false;
  const rules: CompiledRule[] = [];
  parsed.data.rules.forEach((rule, index) => {
    const at = (field: string) => `rules[${index}]${field === '' ? '' : `.${field}`}`;
    const before = problems.length;
    const onProblem = eventPatternProblem(rule.on);
    if (onProblem !== undefined) problems.push({ path: at('on'), message: onProblem });

    const timer = /^timer:([^:/]+)$/.exec(rule.on);
    if (timer && !timer[1]?.includes('*') && !timerNames.has(timer[1] as string)) {
      problems.push({ path: at('on'), message: `no timer named "${timer[1]}" in timers` });
    }
    const sensor = SENSOR_ON.exec(rule.on);
    if (rule.on.startsWith('sensor:') && !sensor) problems.push({ path: at('on'), message: 'a sensor rule names one reading: sensor:<device>.<quantity> (no "*")' });
    if (rule.every !== undefined && !sensor) problems.push({ path: at('every'), message: 'only sensor rules (on: sensor:<device>.<quantity>) take a polling interval' });
    if (sensor) {
      const key = `${sensor[1]}.${sensor[2]}`;
      const everyMs = rule.every ?? DEFAULT_SENSOR_EVERY_MS;
      const known = sensors.get(key);
      if (!known || known.everyMs > everyMs) sensors.set(key, { device: sensor[1] as string, quantity: sensor[2] as string, everyMs });
    }
    const gpio = GPIO_ON.exec(rule.on);
    if (rule.on.startsWith('gpio:') && !gpio) problems.push({ path: at('on'), message: 'a GPIO rule is gpio:<device>:rising|falling|*' });
    if (gpio) {
      if (gpio[1]?.includes('*')) gpioAllInputs = true;
      else gpioDevices.add(gpio[1] as string);
    }
    if (rule.on === '*' || rule.on === 'gpio:*' || /^gpio:\*/.test(rule.on)) gpioAllInputs = true;

    let condition;
    if (rule.if !== undefined) {
      const compiled = compileCondition(rule.if);
      if ('error' in compiled) problems.push({ path: at('if'), message: compiled.error });
      else condition = compiled;
    }

    if (rule.action !== undefined && rule.actions !== undefined) problems.push({ path: at('actions'), message: 'give either action or actions, not both' });
    const specs = rule.actions ?? (rule.action === undefined ? [] : [rule.action]);
    if (specs.length === 0) problems.push({ path: at('action'), message: 'a rule needs an action (or actions)' });
    const actions: RuleAction[] = [];
    specs.forEach((spec, i) => {
      const action = checkAction(spec, rule.actions !== undefined ? at(`actions[${i}]`) : at('action'), problems);
      if (action) actions.push(action);
    });
    if (rule.cooldown !== undefined && rule.cooldownMs !== undefined) problems.push({ path: at('cooldownMs'), message: 'give either cooldown or cooldownMs, not both' });
    if (problems.length > before) return;
    rules.push({
      index,
      label: rule.name ?? `rules[${index}]`,
      on: rule.on,
      matches: compileEventPattern(rule.on),
      condition,
      actions,
      cooldownMs: rule.cooldown ?? rule.cooldownMs ?? 0,
      edge: rule.edge,
      enabled: rule.enabled,
    });
  });
  if (problems.length > 0) fail(file, problems);
  return { file, rules, timers, sensors: [...sensors.values()], gpioDevices: [...gpioDevices], gpioAllInputs };
}

/** Reads and validates a rules file; `displayName` (default: the path) is what messages call it. */
export async function loadRulesFile(path: string, displayName: string = path): Promise<RuleSet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new OpenStarryError(ErrorCode.RULES_INVALID, `${displayName}: cannot read rules file: ${(err as Error).message}`, {
      cause: err,
      details: { file: displayName, problems: [{ path: '', message: `cannot read rules file: ${(err as Error).message}` }] },
    });
  }
  return parseRulesFile(text, displayName);
}
