// End to end (issue 13 "Fuzz the boundaries"): a few hundred generated control requests on the real socket and
// MQTT messages through a real mosquitto, sent to the built daemon. Every request that asks for an answer gets a
// JSON-RPC one with a registered code; afterwards the daemon answers `status`, logged and counted the refusals, and
// its RSS grew by less than 30 MB. Seeded like the unit properties (scripts/testing/fuzz-kit.ts).
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { fc, fuzzSeed, jsonText, mutatedDocument, nastyValue, validControlRequest } from '../../scripts/testing/fuzz-kit.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus } from '../control/protocol.ts';
import { ErrorCode } from '../errors.ts';
import { ROOT, startDaemon, tempDir, writeTree } from './harness.ts';

const CODES = new Set<string>(Object.values(ErrorCode));

/** One request on its own connection: the first answer line, or undefined for a notification (nothing comes). */
function ask(socket: string, line: string, expectAnswer: boolean): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(socket);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      if (expectAnswer) reject(new Error(`no answer within 10 s to ${line.slice(0, 200)}`));
      else resolve(undefined);
    }, expectAnswer ? 10_000 : 100);
    c.on('error', () => undefined);
    c.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      c.destroy();
      resolve(buf.slice(0, nl));
    });
    c.on('close', () => {
      clearTimeout(timer);
      if (buf.indexOf('\n') === -1) resolve(expectAnswer ? 'closed' : undefined);
    });
    c.on('connect', () => c.write(`${line}\n`));
  });
}

/** What goes unanswered: a blank keep-alive line, or a well-formed request object without an id (JSON-RPC 2.0 §4.1). */
function isNotification(line: string): boolean {
  if (line.replace(/\r$/, '').trim() === '') return true;
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.hasOwn(v, 'id') && v.jsonrpc === '2.0' && typeof v.method === 'string';
  } catch {
    return false;
  }
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

t.test('generated control requests and MQTT messages against the live daemon: typed answers, status, bounded memory', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = tempDir(t);
  const broker = await startMosquitto({ dir: path.join(dir, 'broker') });
  t.teardown(() => broker.kill());
  const master = path.join(ROOT, 'agents', 'master');
  writeTree(path.join(dir, 'templates', 'master'), {});
  for (const f of readdirSync(master)) copyFileSync(path.join(master, f), path.join(dir, 'templates', 'master', f));
  writeFileSync(path.join(dir, 'rules.yaml'), 'rules:\n  - on: "door/*"\n    if: "open == true"\n    action: { publish: door/seen }\n');
  const config = path.join(dir, 'openstarry.yaml');
  writeFileSync(config, ['deviceId: fuzz1', 'templates:', `  dir: ${path.join(dir, 'templates')}`, 'orchestration:', '  rules: ./rules.yaml', 'mqtt:', `  url: ${broker.url}`, '  startWaitMs: 2000', '  maxIncomingBytes: 65536', '  commands: [status, listAgents, events.emit, logs.read, spawnAgent]', 'dashboard: false', ''].join('\n'));
  const d = await startDaemon(t, { dir, args: ['--config', config] });
  await d.waitFor('the link to connect', async () => (await d.json<DaemonStatus>('status')).link.state === 'connected');
  const pid = d.child.pid as number;
  const rssBefore = rssBytes(pid);

  // Control requests: mutated valid ones (never spawn a real template or kill a real pid: targets are fixed above).
  const methods = ['status', 'listAgents', 'templates.list', 'devices.list', 'logs.read', 'events.emit', 'killAgent', 'spawnAgent'] as const;
  const lines = fc.sample(fc.oneof({ weight: 8, arbitrary: jsonText(mutatedDocument(validControlRequest(methods))) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) }), { seed: fuzzSeed(), numRuns: 300 });
  // And the findings of the unit properties, against the real thing: params nested 5,000 deep.
  lines.push(`{"jsonrpc":"2.0","id":"deep","method":"events.emit","params":["door/x",${'['.repeat(5000)}${']'.repeat(5000)}]}`);
  let answered = 0;
  let errors = 0;
  for (let i = 0; i < lines.length; i += 4) {
    await Promise.all(
      lines.slice(i, i + 4).filter((l) => !l.includes('\n')).map(async (line) => {
        const answer = await ask(d.socket, line, !isNotification(line));
        if (answer === undefined || answer === 'closed') return;
        const r = JSON.parse(answer) as { jsonrpc: string; result?: unknown; error?: { code: number; data: { code: string } } };
        answered += 1;
        if (r.error) {
          errors += 1;
          if (!CODES.has(r.error.data.code) || r.error.code === -32603) t.fail(`untyped answer ${answer.slice(0, 300)} to ${line.slice(0, 200)}`);
        }
      }),
    );
  }
  t.ok(answered > 250 && errors > 100, `${answered} control requests answered, ${errors} with a typed error`);

  // MQTT: generated events and commands under the board's prefix, to every board, and elsewhere.
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  const topic = fc.oneof(
    fc.constantFrom('event/door/opened', 'event/git:commit_pushed', 'cmd/status', 'cmd/events.emit', 'cmd/spawnAgent', 'cmd/killAgent', 'cmd/__proto__', 'event/', 'event/a b', 'state/master', 'status').map((s) => `openstarry/fuzz1/${s}`),
    fc.constantFrom('openstarry/all/event/door/opened', 'openstarry/all/cmd/status', 'elsewhere/x'),
  );
  const payload = fc.oneof(
    { weight: 6, arbitrary: jsonText(mutatedDocument(fc.constantFrom<unknown>({ open: true }, { params: ['door/x', { open: true }], id: 'c1' }, { params: { target: 'nope' }, id: 'c2' }), { values: nastyValue({ maxDepth: 1000, hugeBytes: 70_000 }) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  );
  const messages = fc.sample(fc.record({ topic, payload, qos: fc.constantFrom(0 as const, 1 as const), responseTopic: fc.constantFrom('replies/fuzz', 'openstarry/fuzz1/event/x', 'replies/#') }), { seed: fuzzSeed(), numRuns: 300 });
  // Over mqtt.maxIncomingBytes: dropped by the link before anything decodes them.
  for (const s of ['event/door/opened', 'cmd/status']) messages.push({ topic: `openstarry/fuzz1/${s}`, payload: 'x'.repeat(70_000), qos: 1, responseTopic: 'replies/fuzz' });
  for (const m of messages) await client.publishAsync(m.topic, m.payload, { qos: m.qos, properties: { responseTopic: m.responseTopic, correlationData: Buffer.from('c') } });

  // Afterwards: alive, answering, counted, logged, and no leak.
  await d.waitFor('the MQTT messages to be counted', async () => {
    const s = await d.json<DaemonStatus>('status');
    const o = s.orchestration as { mqttEvents: { received: number }; mqttCommands: { received: number } };
    return o.mqttEvents.received + o.mqttCommands.received >= 150;
  }, 30_000);
  const status = await d.json<DaemonStatus>('status');
  t.equal(status.state, 'ready', 'the daemon answers status, ready');
  const o = status.orchestration as { mqttEvents: { malformed: number; refused: number }; mqttCommands: { invalid: number; refused: number } };
  t.ok(o.mqttEvents.malformed + o.mqttEvents.refused > 0 && o.mqttCommands.invalid + o.mqttCommands.refused > 0, `MQTT refusals counted: ${JSON.stringify(o.mqttEvents)} ${JSON.stringify(o.mqttCommands)}`);
  t.ok((status.link as unknown as { droppedIncoming: number }).droppedIncoming > 0, 'oversized and malformed payloads dropped at the link');
  t.match(d.log(), /rejected|refused|dropped/, 'the refusals are logged');
  t.notMatch(d.log(), /dispatch failed|Maximum call stack/, 'no request reached an untyped failure');
  const grown = rssBytes(pid) - rssBefore;
  t.ok(grown < 30 * 1024 * 1024, `daemon RSS grew ${(grown / 1024 / 1024).toFixed(1)} MB (${(rssBefore / 1024 / 1024).toFixed(1)} MB before)`);

  // A rules file nested 5,000 deep, reloaded twice: refused both times with the file and line, the daemon stays up.
  writeFileSync(path.join(dir, 'rules.yaml'), `${'- '.repeat(5000)}x\n`);
  for (let i = 0; i < 2; i++) {
    const reload = await d.cli('reload', '--json');
    t.match(reload.stdout + reload.stderr, /nested deeper than 128 levels at line 1/, `reload ${i + 1} refused the deep rules file`);
  }
  t.equal((await d.json<DaemonStatus>('status')).state, 'ready', 'still ready after the reloads');
});
