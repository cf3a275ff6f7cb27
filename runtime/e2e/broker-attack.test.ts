// Issue 13 findings 3 and 4 against the built daemon: a hostile local program (a real mqtt.js client) on the
// embedded broker tries to speak as the board (retained status and state, the daemon's client id) and to flood it
// (1,200 then 600 more retained 256 KiB messages, a 16 MiB packet). Each attempt is refused; the daemon's RSS stays bounded; the
// link never reconnects; `status` counts the refusals. Before the fix: status spoofed, the link flapping, the
// daemon 105 -> 537 MB.
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { connectOrError, publishOrClosed } from '../../scripts/testing/mqtt-test-kit.ts';
import t from 'tap';
import type { DaemonStatus } from '../control/protocol.ts';
import { startDaemon } from './harness.ts';

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

interface Link { state: string; clientId: string; topicPrefix: string; reconnects: number; broker: NonNullable<DaemonStatus['link']['broker']> }

const connect = connectOrError;
const publish = publishOrClosed;

async function retainedStatus(url: string, topic: string): Promise<unknown> {
  const c = await connect(url);
  if (c instanceof Error) throw c;
  const got = new Promise<unknown>((resolve) => c.on('message', (_t, p, packet) => packet.retain && resolve(JSON.parse(p.toString()))));
  await c.subscribeAsync(topic, { qos: 1 });
  const value = await Promise.race([got, new Promise((r) => setTimeout(() => r(undefined), 2000))]);
  await c.endAsync(true);
  return value;
}

t.test('a local program can neither speak as the board nor flood the embedded broker', async (t) => {
  const d = await startDaemon(t);
  const link0 = (await d.json<DaemonStatus>('status')).link as unknown as Link;
  t.equal(link0.state, 'connected');
  const url = `mqtt://127.0.0.1:${link0.broker.port}`;
  const prefix = link0.topicPrefix;
  const pid = d.child.pid as number;
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssMb(pid);

  // Finding 4: the board's retained status and state, and its session.
  const spoofed = JSON.stringify({ online: false, spoofed: true });
  const spoof = async (topic: string) => {
    const spoofer = await connect(url);
    if (spoofer instanceof Error) throw spoofer;
    const outcome = await publish(spoofer, `${prefix}${topic}`, spoofed, true);
    spoofer.end(true);
    return outcome;
  };
  const statusOutcome = await spoof('status');
  const stateOutcome = await spoof('state/master');
  const status = await retainedStatus(url, `${prefix}status`);
  t.comment(`spoof: status publish ${statusOutcome}, state/master publish ${stateOutcome}; retained status now ${JSON.stringify(status)}`);
  t.match(status, { online: true }, 'the retained status is still the board\'s');
  t.notMatch(status, { spoofed: true });
  const takeover = await connect(url, { clientId: link0.clientId });
  t.comment(`takeover with the daemon's client id: ${takeover instanceof Error ? takeover.message : 'connected'}`);
  if (!(takeover instanceof Error)) await new Promise((r) => setTimeout(r, 2000)).then(() => takeover.end(true));
  t.match(takeover, { code: 2 }, 'identifier rejected');

  // Finding 3: 1,200 retained 256 KiB messages (300 MiB), reconnecting whenever the broker closes the connection;
  // then 600 more: bounded means the second wave adds next to nothing.
  const payload = Buffer.alloc(256 * 1024, 0x61);
  let acked = 0;
  let closed = 0;
  const flood = async (from: number, count: number) => {
    let c: MqttClient | Error | undefined;
    for (let i = from; i < from + count; i++) {
      if (c === undefined || c instanceof Error || !c.connected) c = await connect(url);
      if (c instanceof Error) {
        closed++;
        c = undefined;
        continue;
      }
      if ((await publish(c, `${prefix}event/flood/${i}`, payload, true)) === 'acked') acked++;
      else closed++;
    }
    if (c instanceof Object && !(c instanceof Error)) c.end(true);
    await new Promise((r) => setTimeout(r, 2000));
  };
  await flood(0, 1200);
  const afterFirst = rssMb(pid);
  t.comment(`flood: ${acked} retained stored, ${closed} refused; daemon RSS ${before.toFixed(0)} -> ${afterFirst.toFixed(0)} MB`);
  t.ok(afterFirst - before < 100, `daemon RSS grew ${(afterFirst - before).toFixed(0)} MB (< 100 MB) for 300 MiB offered`);
  await flood(1200, 600);
  const big = await connect(url);
  const bigOutcome = big instanceof Error ? 'refused' : await publish(big, `${prefix}event/huge`, Buffer.alloc(16 * 2 ** 20), false);
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssMb(pid);
  t.comment(`600 more and a 16 MiB packet (${bigOutcome}): ${acked} stored in all, daemon RSS ${after.toFixed(0)} MB`);
  t.ok(after - afterFirst < 20, `the second wave added ${(after - afterFirst).toFixed(0)} MB (< 20 MB): bounded, not proportional`);
  t.equal(bigOutcome, 'closed');

  const link1 = (await d.json<DaemonStatus>('status')).link as unknown as Link;
  t.comment(`status.link.broker.guard: ${JSON.stringify(link1.broker.guard)}`);
  t.match(link1, { state: 'connected', reconnects: 0 }, 'the link never flapped');
  t.match(link1.broker.guard?.refused, { topic: 2, clientId: 1, packetTooLarge: 1 });
  t.ok((link1.broker.guard?.refused.retained ?? 0) >= 1700);
  t.ok((link1.broker.guard?.retained.bytes ?? Infinity) <= 8 * 2 ** 20);
  t.match((await d.cli('status')).stdout, /embedded broker running on 127\.0\.0\.1:\d+ \(refused: .*topic/);
  t.match(d.log(), /embedded broker refused \(retained\)/);
  t.ok((d.log().match(/embedded broker refused \(retained\)/g) ?? []).length < 100, 'refusals logged at a bounded rate');
});
