// Property tests of what arrives from the MQTT network (issue 13 "Fuzz the boundaries"): topics and filters, the
// incoming dispatch (size, UTF-8, JSON, schema), inbound events into the real orchestrator, and remote commands
// through the real dispatcher. Every message is delivered, dropped and counted, or answered with a typed error:
// nothing throws into mqtt.js's event handler, no handler fails, no prototype is touched.
import t from 'tap';
import * as z from 'zod';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { assertPrototypesUntouched, checkAsyncProperty, checkProperty, fc, jsonText, mutatedDocument, nastyValue, prototypeFingerprint } from '../../scripts/testing/fuzz-kit.ts';
import { FakeDaemonApi } from '../control/test-kit.ts';
import { subscribeInboundEvents } from '../orchestrator/orchestration-wiring.ts';
import { Orchestrator } from '../orchestrator/orchestrator.ts';
import type { ActionExecutor } from '../orchestrator/orchestrator.ts';
import { parseRulesFile } from '../orchestrator/rules-loader.ts';
import { LinkErrorCode } from './errors.ts';
import { IncomingDispatch } from './incoming-dispatch.ts';
import type { MessageHandler, RawIncoming, SubscribeOptions } from './incoming-dispatch.ts';
import type { MqttLink } from './mqtt-link.ts';
import { checkTopicFilter, checkTopicName, topicMatches } from './mqtt-topics.ts';
import { serveRemoteCommands } from './remote-commands.ts';

const before = prototypeFingerprint();
const PREFIX = 'openstarry/dev1/';

const level = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('event', 'cmd', 'status', 'listAgents', 'spawnAgent', 'killAgent', 'events.emit', 'door', 'opened', 'git:commit_pushed', 'all', 'openstarry', 'dev1') },
  { weight: 2, arbitrary: fc.constantFrom('', '+', '#', '$SYS', '__proto__', 'constructor', 'toString', '..', '\u0000', '💥', 'x'.repeat(300)) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
);
const topic = fc.oneof(
  // The daemon's own subscriptions, so that many cases get past the topic to the payload.
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(`${PREFIX}cmd/`, `${PREFIX}event/`, 'openstarry/all/event/'), fc.constantFrom('status', 'listAgents', 'spawnAgent', 'events.emit', 'killAgent', 'door/opened', 'git:commit_pushed', 'a b', '')).map(([p, n]) => `${p}${n}`) },
  fc.array(level, { minLength: 1, maxLength: 6 }).map((l) => `${PREFIX}${l.join('/')}`),
  fc.array(level, { minLength: 1, maxLength: 6 }).map((l) => `openstarry/all/${l.join('/')}`),
  fc.array(level, { minLength: 0, maxLength: 6 }).map((l) => l.join('/')),
);

/** What a sender would put in an event or a command payload, then mutated. */
const validPayload = fc.oneof(
  fc.record({ branch: fc.constantFrom('main', 'dev'), sha: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 8 }) }),
  fc.record({ params: fc.oneof(fc.constant([]), fc.constant(['thermostat']), fc.constant({ target: 'thermostat' }), fc.constant(['1', 'SIGKILL'])), id: fc.constantFrom('c1', 'abc-1', 'x:y') }),
  fc.jsonValue({ maxDepth: 3 }),
);
const payload = fc.oneof(
  { weight: 6, arbitrary: jsonText(mutatedDocument(validPayload)).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from([0xff, 0xfe]), Buffer.from('{"__proto__":{"polluted":true}}'), Buffer.from('{"params":{"__proto__":{"polluted":1}},"id":"a"}'), Buffer.alloc(256 * 1024 + 1, 0x20), Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), Buffer.from(`{"params":["x",${'['.repeat(50_000)}${']'.repeat(50_000)}],"id":"d"}`)) },
);
const incoming: fc.Arbitrary<RawIncoming> = fc.record(
  {
    topic,
    payload,
    retain: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
    responseTopic: fc.oneof(fc.constantFrom('replies/a', 'openstarry/dev1/event/x', '$SYS/x', 'replies/#', ''), topic),
    correlationData: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
  },
  { requiredKeys: ['topic', 'payload', 'retain', 'qos'] },
);

function recordingLogger(): Logger & { errors: string[]; warnings: number } {
  const errors: string[] = [];
  const log = {
    errors,
    warnings: 0,
    debug() {},
    info() {},
    warn() {
      log.warnings += 1;
    },
    error(message: string, fields?: Record<string, unknown>) {
      errors.push(`${message} ${JSON.stringify(fields ?? {})}`);
    },
    child: () => log,
    setLevel() {},
  };
  return log;
}

const executor: ActionExecutor = {
  isRunning: () => false,
  spawn: () => Promise.resolve(),
  kill: () => Promise.resolve(),
  publish: () => undefined,
  deliver: () => false,
};

t.test('topic names and filters are accepted or refused with ERR_LINK_TOPIC_INVALID; matching never throws', async (t) => {
  const raw = fc.oneof(topic, fc.string({ unit: 'binary', maxLength: 80 }), fc.integer({ min: 65_000, max: 70_000 }).map((n) => 'é'.repeat(Math.ceil(n / 2))));
  checkProperty(t, 'topics', fc.tuple(raw, raw), 3000, ([a, b]) => {
    let nameOk = true;
    for (const [check, value] of [[checkTopicName, a], [checkTopicFilter, b]] as const) {
      try {
        check(value);
      } catch (err) {
        if (!(err instanceof OpenStarryError) || err.code !== LinkErrorCode.TOPIC_INVALID) throw new Error(`untyped refusal of ${JSON.stringify(value.slice(0, 80))}: ${String(err)}`, { cause: err });
        if (check === checkTopicName) nameOk = false;
      }
    }
    topicMatches(b, a);
    // A valid topic name is also a valid filter that matches exactly itself, and "#" matches it unless it is a $ topic.
    if (nameOk) {
      checkTopicFilter(a);
      if (!topicMatches(a, a)) throw new Error(`${a} does not match itself`);
      if (topicMatches('#', a) === a.startsWith('$')) throw new Error(`"#" vs ${a}`);
    }
  });
});

t.test('every incoming message is delivered, dropped and counted, or answered; nothing throws or fails', async (t) => {
  const log = recordingLogger();
  const dispatch = new IncomingDispatch({ maxIncomingBytes: 256 * 1024, topicPrefix: PREFIX, log });
  const replies: { topic: string; payload: string }[] = [];
  const link = {
    state: () => ({ topicPrefix: PREFIX }),
    subscribe: (filter: string, handler: MessageHandler<unknown>, options: SubscribeOptions<unknown> = {}) => {
      const full = options.absolute ? filter : `${PREFIX}${filter}`;
      return dispatch.add(full, handler, options).remove;
    },
  } as unknown as MqttLink;
  // Typed subscriptions beside the daemon's own: a schema, and JSON only.
  const typed: unknown[] = [];
  dispatch.add(`${PREFIX}telemetry/+`, (m) => void typed.push(m.data), { schema: z.object({ temp: z.number() }).strict() });
  dispatch.add(`${PREFIX}event/#`, (m) => void typed.push(m.data), { json: true });
  const orch = new Orchestrator({ rules: parseRulesFile('rules:\n  - on: "git:commit_pushed"\n    if: "branch == \'main\'"\n    action: "spawn(code-reviewer-agent)"\n  - on: "door/*"\n    action: "publish(door/seen)"\n', 'rules.yaml'), executor, maxEventsPerSecond: 0 });
  const events = subscribeInboundEvents(link, (e) => orch.emit(e), log);
  const commands = serveRemoteCommands({ link, api: new FakeDaemonApi(), allow: ['status', 'listAgents', 'spawnAgent', 'events.emit'], log });

  const reply = (raw: RawIncoming, p: Buffer | string, options?: { fallbackCorrelation?: string }) => {
    const to = raw.responseTopic ?? (options?.fallbackCorrelation === undefined ? undefined : `${PREFIX}reply/${options.fallbackCorrelation}`);
    if (to === undefined) throw new OpenStarryError(LinkErrorCode.NO_RESPONSE_TOPIC, 'no response topic');
    replies.push({ topic: to, payload: p.toString() });
  };
  await checkAsyncProperty(t, 'incoming', incoming, 3000, async (raw) => {
    const counted = { ...dispatch.counters };
    const answered = replies.length;
    try {
      dispatch.dispatch(raw, reply);
    } catch (err) {
      throw new Error(`dispatch threw into mqtt.js: ${String(err)}`, { cause: err });
    }
    // Remote commands answer asynchronously (the dispatcher awaits the api).
    await new Promise((resolve) => setImmediate(resolve));
    if (dispatch.counters.received !== counted.received + 1) throw new Error('not counted as received');
    if (log.errors.length > 0) throw new Error(`a handler failed: ${log.errors.join('\n')}`);
    for (const r of replies.slice(answered)) {
      const body = JSON.parse(r.payload) as { error?: { code: unknown; data?: { code: string } } };
      const code = body.error?.data?.code ?? body.error?.code;
      if (body.error !== undefined && !Object.values(ErrorCode).includes(code as never)) throw new Error(`reply with an unregistered code: ${r.payload.slice(0, 200)}`);
      if (r.topic.startsWith('openstarry/') && !r.topic.startsWith(`${PREFIX}reply/`)) throw new Error(`answered into ${r.topic}`);
    }
  });
  t.equal(dispatch.counters.handlerErrors, 0, 'no handler failed');
  t.ok(dispatch.counters.oversized > 0 && dispatch.counters.malformed > 0, 'the generators reached the oversize and malformed drops');
  t.ok(events.counters.received > 0 && commands.counters.received > 0, 'the generators reached events and commands');
  t.ok(events.counters.accepted > 0 && commands.counters.answered > 0, `and some were valid: ${JSON.stringify(events.counters)} ${JSON.stringify(commands.counters)}`);
  t.ok(log.warnings > 0, 'refusals are logged');
  events.close();
  commands.close();
  assertPrototypesUntouched(t, before);
});

t.test('a command payload with evil keys is refused as invalid, not read through a prototype', async (t) => {
  const log = recordingLogger();
  let handler: MessageHandler<unknown> | undefined;
  const link = { subscribe: (_f: string, h: MessageHandler<unknown>) => ((handler = h), () => undefined) } as unknown as MqttLink;
  const commands = serveRemoteCommands({ link, api: new FakeDaemonApi(), allow: ['status', 'spawnAgent', 'killAgent', 'events.emit'], log });
  const arb = fc.record({ method: fc.constantFrom('status', 'spawnAgent', 'killAgent', 'events.emit'), key: fc.constantFrom('__proto__', 'constructor', 'toString', 'params', 'id'), value: nastyValue({ maxDepth: 50, hugeBytes: 2048 }) });
  // Or params nested deeper than any schema recursion can follow, built as text (`openstarry emit` data over MQTT).
  const deep = fc.record({ method: fc.constantFrom('events.emit', 'spawnAgent'), depth: fc.integer({ min: 60, max: 20_000 }), open: fc.constantFrom('[', '{"a":') });
  const text = fc.oneof(
    arb.map(({ method, key, value }) => ({ method, text: `{${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}` })),
    deep.map(({ method, depth, open }) => ({ method, text: `{"params":["x",${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}],"id":"deep"}` })),
  );
  await checkAsyncProperty(t, 'evil command keys and deep params', text, 1000, async ({ method, text }) => {
    const answers: string[] = [];
    await handler?.({ topic: `${PREFIX}cmd/${method}`, relativeTopic: `cmd/${method}`, payload: Buffer.from(text), data: undefined, retain: false, qos: 1, responseTopic: 'replies/x', reply: (p) => void answers.push(p.toString()) });
    await new Promise((resolve) => setImmediate(resolve));
    if (answers.length !== 1) throw new Error(`${answers.length} answers to ${text.slice(0, 100)}`);
  });
  t.same(log.errors, []);
  t.ok(commands.counters.invalid > 0);
  assertPrototypesUntouched(t, before);
});
