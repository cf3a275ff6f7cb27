/**
 * The orchestration rules file (`orchestration.yaml`, spec 000 §3.1, README "MQTT, remote triggers and rules"): its YAML shape (zod) and the
 * compiled form the engine runs. The specification's example is valid as written:
 *
 *   rules:
 *     - on: "git:commit_pushed"
 *       if: "branch == 'main'"
 *       action: "spawn(code-reviewer-agent)"
 *
 * Extensions, all optional:
 *   rules[].name          a label for logs and `status` (default `rules[<index>]`)
 *   rules[].on            an event name or pattern with `*` (runtime/core/event-names.ts); special sources:
 *                           timer:<name>                    a timer from `timers:`
 *                           gpio:<device>:rising|falling    an input edge (the daemon watches the device)
 *                           sensor:<device>.<quantity>      a reading polled every `every` (data: {value, ...})
 *                           agent:<id>:started|exited|crashed
 *   rules[].if            a CEL expression over the event's data fields and `event` (see condition.ts)
 *   rules[].action        one action; rules[].actions: several, run in order. An action is a string
 *                           `spawn(<template>)`, `kill(<agent>)`, `notify(<agent>)`, `publish(<event-name>)`
 *                         or an object with one of those keys: `{ spawn: devops-agent }`,
 *                           `{ publish: climate/too_hot, data: { level: high } }` (default data: the event's)
 *   rules[].cooldown      (or cooldownMs) after the rule fires, matching events are dropped for this long
 *   rules[].edge          true: fire only when the condition turns from false to true (thresholds)
 *   rules[].every         sensor rules: the polling interval (default 10s)
 *   rules[].enabled       false: loaded and validated, never fires
 *   timers[]              { name, every }: emits `timer:<name>` with { name, count } every interval
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import type { EventMatcher } from '../core/event-names.ts';
import type { JsonValue } from '../core/plugin.ts';
import type { CompiledCondition } from './condition.ts';
import { durationSchema } from './duration.ts';

export const RULES_LIMITS = { maxRules: 500, maxTimers: 64, maxActionsPerRule: 16, maxFileChars: 256 * 1024 } as const;
export const ACTION_VERBS = ['spawn', 'kill', 'notify', 'publish'] as const;
export type ActionVerb = (typeof ACTION_VERBS)[number];

const jsonValue: z.ZodMiniType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

const actionObject = z.strictObject({
  spawn: z.optional(z.string()),
  kill: z.optional(z.string()),
  notify: z.optional(z.string()),
  publish: z.optional(z.string()),
  data: z.optional(jsonValue),
});

export const actionSpecSchema = z.union([z.string(), actionObject]);
export type ActionSpec = z.output<typeof actionSpecSchema>;

export const ruleSchema = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  on: z.string(),
  if: z.optional(z.string()),
  action: z.optional(actionSpecSchema),
  actions: z.optional(z.array(actionSpecSchema).check(z.minLength(1), z.maxLength(RULES_LIMITS.maxActionsPerRule))),
  cooldown: z.optional(durationSchema(0, 86_400_000)),
  cooldownMs: z.optional(durationSchema(0, 86_400_000)),
  edge: z._default(z.boolean(), false),
  every: z.optional(durationSchema(100, 86_400_000)),
  enabled: z._default(z.boolean(), true),
});

export const timerSchema = z.strictObject({
  name: z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-"')),
  every: durationSchema(100, 7 * 86_400_000),
});

export const rulesFileSchema = z.strictObject({
  rules: z.array(ruleSchema).check(z.maxLength(RULES_LIMITS.maxRules)),
  timers: z._default(z.array(timerSchema).check(z.maxLength(RULES_LIMITS.maxTimers)), []),
});

export type RulesFileInput = z.input<typeof rulesFileSchema>;

/** One action, checked: a template or agent id, or an event name for publish. */
export type RuleAction =
  | { verb: 'spawn' | 'kill' | 'notify'; target: string }
  | { verb: 'publish'; target: string; data?: JsonValue };

/** Where the engine needs a source started for a rule (the daemon's adapters read these). */
export interface SensorWatch {
  device: string;
  quantity: string;
  everyMs: number;
}

export interface CompiledRule {
  index: number;
  /** `name`, or `rules[<index>]`. */
  label: string;
  on: string;
  matches: EventMatcher;
  condition: CompiledCondition | undefined;
  actions: readonly RuleAction[];
  cooldownMs: number;
  edge: boolean;
  enabled: boolean;
}

export interface RuleSet {
  /** The file as named to the loader (used in every message). */
  file: string;
  rules: readonly CompiledRule[];
  timers: readonly { name: string; everyMs: number }[];
  /** One entry per sensor reading some rule needs, with the shortest interval asked for. */
  sensors: readonly SensorWatch[];
  /** Input devices named by `gpio:<device>:...` rules. */
  gpioDevices: readonly string[];
  /** Some rule's `on` could match an edge of any input (`gpio:*:rising`, `*`): watch every input device. */
  gpioAllInputs: boolean;
}
