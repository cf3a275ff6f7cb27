// The orchestration engine against a fake executor: the spec's rules, one live process per id, cooldown, edge,
// publish re-entry and loops, notify/kill, failures, and storm protection (10,000 events must not fork-bomb).
import t from 'tap';
import type { JsonValue } from '../core/plugin.ts';
import { ManualClock } from '../manual-clock.ts';
import type { ActionExecutor, OrchestratorOptions, TriggerEvent } from './orchestrator.ts';
import { Orchestrator } from './orchestrator.ts';
import { parseRulesFile } from './rules-loader.ts';

const SPEC = `rules:
  - on: "git:commit_pushed"
    if: "branch == 'main'"
    action: "spawn(code-reviewer-agent)"
  - on: "alert:server_down"
    action: "spawn(devops-agent)"
`;

interface Deferred {
  resolve(): void;
  reject(err: Error): void;
}

/** Records every call; spawns stay pending until the test settles them (or settle at once with `auto`). */
class FakeExecutor implements ActionExecutor {
  running = new Set<string>();
  calls: string[] = [];
  spawns: { template: string; event: TriggerEvent; d: Deferred }[] = [];
  delivered: [string, TriggerEvent][] = [];
  published: [string, JsonValue][] = [];
  broadcasts: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  auto = false;

  isRunning(id: string) {
    return this.running.has(id);
  }
  spawn(template: string, event: TriggerEvent) {
    this.calls.push(`spawn:${template}`);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => {
      const d: Deferred = {
        resolve: () => {
          this.inFlight -= 1;
          this.running.add(template);
          resolve();
        },
        reject: (err) => {
          this.inFlight -= 1;
          reject(err);
        },
      };
      this.spawns.push({ template, event, d });
      if (this.auto) d.resolve();
    });
  }
  async kill(id: string) {
    this.calls.push(`kill:${id}`);
    await Promise.resolve();
    this.running.delete(id);
  }
  publish(topic: string, data: JsonValue) {
    this.published.push([topic, data]);
  }
  deliver(id: string, event: TriggerEvent) {
    if (!this.running.has(id)) return false;
    this.delivered.push([id, event]);
    return true;
  }
  broadcast(event: TriggerEvent) {
    this.broadcasts.push(event.name);
  }
}

function setup(yaml: string, options: Partial<OrchestratorOptions> = {}) {
  const executor = new FakeExecutor();
  const clock = new ManualClock();
  const orch = new Orchestrator({ rules: parseRulesFile(yaml, 'o.yaml'), executor, clock, ...options });
  return { executor, clock, orch };
}
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test("the spec's rules: a condition on the data, a spawn with the trigger event", async (t) => {
  const { executor, orch } = setup(SPEC);
  t.same(orch.emit({ name: 'git:commit_pushed', data: { branch: 'dev' }, source: 'mqtt' }), { accepted: true, fired: 0 });
  t.same(orch.emit({ name: 'git:commit_pushed', data: { branch: 'main', sha: 'abc' }, source: 'mqtt' }), { accepted: true, fired: 1 });
  t.same(orch.emit({ name: 'alert:server_down', data: { host: 'db1' }, source: 'cli' }), { accepted: true, fired: 1 });
  t.same(executor.calls, ['spawn:code-reviewer-agent', 'spawn:devops-agent']);
  t.match(executor.spawns[0]?.event, { name: 'git:commit_pushed', data: { branch: 'main', sha: 'abc' }, source: 'mqtt', at: /^\d{4}-/ });
  for (const s of executor.spawns) s.d.resolve();
  await orch.idle();
  const st = orch.stats();
  t.match(st, { rulesFile: 'o.yaml', rules: 2, eventsSeen: 3, eventsMatched: 2, fired: 2, actions: { spawned: 2 }, pending: 0, inFlight: 0 });
  t.match(st.perRule[0], { label: 'rules[0]', matched: 2, fired: 1, conditionFalse: 1 });
  t.same(executor.broadcasts, ['git:commit_pushed', 'git:commit_pushed', 'alert:server_down'], 'every accepted event goes to subscribers');
});

t.test('one live process per id: a running target gets the event; events during its spawn wait for it', async (t) => {
  const { executor, orch } = setup(SPEC);
  orch.emit({ name: 'alert:server_down', data: { n: 1 }, source: 'mqtt' });
  orch.emit({ name: 'alert:server_down', data: { n: 2 }, source: 'mqtt' });
  orch.emit({ name: 'alert:server_down', data: { n: 3 }, source: 'mqtt' });
  t.equal(executor.spawns.length, 1, 'no duplicate spawn while the first is starting');
  executor.spawns[0]?.d.resolve();
  await orch.idle();
  t.same(executor.delivered.map(([id, e]) => [id, e.data]), [['devops-agent', { n: 2 }], ['devops-agent', { n: 3 }]], 'held events delivered once it runs, in order');
  orch.emit({ name: 'alert:server_down', data: { n: 4 }, source: 'mqtt' });
  t.equal(executor.spawns.length, 1, 'still one spawn');
  t.same(executor.delivered.at(-1)?.[1].data, { n: 4 }, 'delivered to the running agent');
  t.equal(orch.stats().actions.delivered, 3);
});

t.test('cooldown per rule, with the injected clock', async (t) => {
  const { executor, clock, orch } = setup('rules:\n  - on: ping\n    cooldown: 30s\n    action: publish(pong)\n');
  orch.emit({ name: 'ping', source: 'cli' });
  orch.emit({ name: 'ping', source: 'cli' });
  clock.stall(29_999);
  orch.emit({ name: 'ping', source: 'cli' });
  clock.stall(1);
  orch.emit({ name: 'ping', source: 'cli' });
  t.equal(executor.published.length, 2);
  t.same(orch.stats().perRule[0]?.dropped, { cooldown: 2 });
  t.equal(orch.stats().dropped.cooldown, 2);
});

t.test('edge rules fire when the condition turns true, not while it stays true', async (t) => {
  const { executor, orch } = setup('rules:\n  - on: "sensor:env0.temperature"\n    if: "value > 30.0"\n    edge: true\n    action: publish(climate/too_hot)\n');
  for (const value of [25, 31, 32, 33, 29, 35, 36]) orch.emit({ name: 'sensor:env0.temperature', data: { device: 'env0', quantity: 'temperature', value }, source: 'sensor' });
  t.same(executor.published.map(([, d]) => (d as { value: number }).value), [31, 35]);
  t.match(orch.stats().perRule[0], { matched: 7, fired: 2, conditionFalse: 2, edgeHeld: 3 });
});

t.test('publish: out through the executor, back into the rules; loops end at maxHops', async (t) => {
  const { executor, orch } = setup(
    `rules:
  - on: a
    action: { publish: b, data: { from: a } }
  - on: b
    action: "notify(watcher)"
  - on: "loop/x"
    action: publish(loop/y)
  - on: "loop/y"
    action: publish(loop/x)
`,
    { maxHops: 4 },
  );
  executor.running.add('watcher');
  orch.emit({ name: 'a', data: { n: 1 }, source: 'cli' });
  t.same(executor.published, [['b', { from: 'a' }]]);
  t.match(executor.delivered, [['watcher', { name: 'b', data: { from: 'a' }, source: 'rule:rules[0]' }]]);
  executor.published.length = 0;
  orch.emit({ name: 'loop/x', source: 'cli' });
  t.equal(executor.published.length, 5, 'hops 0..4 publish, the fifth re-entry is dropped');
  t.equal(orch.stats().dropped.loop, 1);
});

t.test('notify and kill act only on running agents; a kill is not duplicated', async (t) => {
  const { executor, orch } = setup('rules:\n  - on: n\n    action: notify(x)\n  - on: k\n    action: kill(x)\n');
  orch.emit({ name: 'n', source: 'cli' });
  orch.emit({ name: 'k', source: 'cli' });
  t.same(executor.calls, []);
  t.match(orch.stats().perRule, [{ dropped: { 'not-running': 1 } }, { dropped: { 'not-running': 1 } }]);
  executor.running.add('x');
  orch.emit({ name: 'n', source: 'cli' });
  orch.emit({ name: 'k', source: 'cli' });
  orch.emit({ name: 'k', source: 'cli' });
  await orch.idle();
  t.same(executor.calls, ['kill:x'], 'the second kill found the first one pending');
  t.match(orch.stats().actions, { notified: 1, killed: 1, deduplicated: 1 });
});

t.test('failures are counted and logged, never thrown at the source', async (t) => {
  const { executor, orch } = setup('rules:\n  - on: s\n    action: spawn(bad)\n  - on: p\n    action: publish(out)\n  - on: c\n    if: "missing == 1"\n    action: publish(never)\n');
  orch.emit({ name: 's', source: 'cli' });
  orch.emit({ name: 's', data: 2, source: 'cli' });
  executor.spawns[0]?.d.reject(new Error('template not found'));
  await orch.idle();
  executor.publish = () => {
    throw new Error('link down');
  };
  t.doesNotThrow(() => orch.emit({ name: 'p', source: 'cli' }));
  orch.emit({ name: 'c', data: { other: 1 }, source: 'cli' });
  const st = orch.stats();
  t.match(st.actions, { failed: 2 });
  t.match(st.perRule[0], { dropped: { 'spawn-failed': 1 }, lastError: { message: /spawn\(bad\) failed: template not found/ } });
  t.match(st.perRule[2], { conditionErrors: 1, conditionFalse: 1 });
  t.match(st.lastError, { message: /condition failed on c: Unknown variable: missing/, rule: 'rules[2]' });
});

t.test('invalid events are refused and counted', async (t) => {
  const { orch } = setup(SPEC);
  t.same(orch.emit({ name: 'bad name', source: 'cli' }), { accepted: false, fired: 0, reason: 'invalid' });
  t.match(orch.emit({ name: 'x', data: 'y'.repeat(70_000), source: 'cli' }), { reason: 'invalid' });
  t.match(orch.emit({ name: 'x', source: '' }), { reason: 'invalid' });
  t.match(orch.emit({ name: 'x', data: { f: (() => 1) as unknown as JsonValue }, source: 'cli' }), { accepted: true }, 'functions are dropped by JSON, like any JSON encoder');
  t.equal(orch.stats().dropped.invalid, 3);
});

t.test('storm: 10,000 events for one spawn rule start one process; the rest wait (bounded) or are dropped', async (t) => {
  const { executor, orch } = setup(SPEC, { maxEventsPerSecond: 0, maxConcurrentSpawns: 2, maxPending: 8, maxWaitingPerSpawn: 16 });
  for (let i = 0; i < 10_000; i++) orch.emit({ name: 'alert:server_down', data: { i }, source: 'mqtt' });
  t.equal(executor.spawns.length, 1, 'one spawn');
  t.equal(orch.stats().dropped['queue-full'], 10_000 - 1 - 16);
  executor.spawns[0]?.d.resolve();
  await orch.idle();
  t.equal(executor.delivered.length, 16, 'the held ones are delivered');
  t.equal(orch.stats().eventsSeen, 10_000);
});

t.test('storm across many templates: at most maxConcurrentSpawns run, at most maxPending wait', async (t) => {
  const templates = Array.from({ length: 50 }, (_, i) => `worker-${i}`);
  let yaml = 'rules:\n';
  for (let r = 0; r < 5; r++) yaml += `  - on: "storm/*"\n    actions: [${templates.slice(r * 10, r * 10 + 10).map((x) => `"spawn(${x})"`).join(', ')}]\n`;
  const { executor, orch } = setup(yaml, { maxEventsPerSecond: 0, maxConcurrentSpawns: 2, maxPending: 10 });
  for (let i = 0; i < 10_000; i++) orch.emit({ name: `storm/${i % 7}`, source: 'mqtt' });
  t.equal(executor.inFlight, 2, 'two spawns running');
  t.equal(orch.stats().pending, 10, 'ten waiting');
  executor.auto = true;
  for (const s of executor.spawns.splice(0)) s.d.resolve();
  await orch.idle();
  t.equal(executor.maxInFlight, 2, 'never more than two at once');
  t.equal(new Set(executor.calls).size, executor.calls.length, 'never the same template twice');
  t.equal(executor.calls.length, 12, 'two running + ten queued; everything else was dropped');
  t.ok(orch.stats().dropped['queue-full'] > 0);
});

t.test('per-source rate limit: a flood from one source does not starve another', async (t) => {
  const { clock, orch } = setup(SPEC, { maxEventsPerSecond: 10, burst: 20 });
  let accepted = 0;
  for (let i = 0; i < 10_000; i++) if (orch.emit({ name: 'noise', source: 'mqtt' }).accepted) accepted += 1;
  t.equal(accepted, 20, 'the burst');
  t.equal(orch.stats().dropped.rate, 9_980);
  t.ok(orch.emit({ name: 'tick', source: 'timer' }).accepted, 'another source still gets through');
  clock.stall(1000);
  t.ok(orch.emit({ name: 'noise', source: 'mqtt' }).accepted, 'tokens refill with time');
});

t.test('close drops queued actions, waits for running ones, refuses new events; setRules swaps rules', async (t) => {
  const { executor, orch } = setup('rules:\n  - on: "go/*"\n    actions: ["spawn(a)", "spawn(b)", "spawn(c)"]\n', { maxConcurrentSpawns: 1 });
  orch.emit({ name: 'go/1', source: 'cli' });
  t.equal(orch.stats().pending, 2);
  const closing = orch.close();
  executor.spawns[0]?.d.resolve();
  await closing;
  t.equal(executor.spawns.length, 1);
  t.equal(orch.stats().dropped.closed, 2);
  t.match(orch.emit({ name: 'go/2', source: 'cli' }), { accepted: false, reason: 'closed' });
  await orch.close();

  const fresh = setup(SPEC);
  fresh.orch.setRules(parseRulesFile('rules:\n  - on: z\n    action: publish(zz)\n', 'new.yaml'));
  fresh.orch.emit({ name: 'z', source: 'cli' });
  t.match(fresh.orch.stats(), { rulesFile: 'new.yaml', rules: 1, fired: 1 });
  await tick();
});
