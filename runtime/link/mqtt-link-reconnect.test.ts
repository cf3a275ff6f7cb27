// The reconnect timer with an injected clock, random and mqtt.js connect (no broker, no sleeping): one guarded
// timer, capped exponential backoff with jitter, the step reset after a stable connection, no timer after close.
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';
import t from 'tap';
import { ManualClock } from '../manual-clock.ts';
import { makeLink } from './link.test-support.ts';
import { backoffDelay } from './reconnect-backoff.ts';

class FakeClient extends EventEmitter {
  ended = false;
  published: string[] = [];
  publish(topic: string, _payload: Buffer | string, _opts: unknown, cb?: (err?: Error) => void): this {
    this.published.push(topic);
    queueMicrotask(() => cb?.());
    return this;
  }
  subscribe(_f: unknown, cb?: (err: Error | null, granted: unknown[]) => void): this {
    queueMicrotask(() => cb?.(null, []));
    return this;
  }
  unsubscribe(): this {
    return this;
  }
  end(...args: unknown[]): this {
    this.ended = true;
    const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    cb?.();
    return this;
  }
}

function fakeConnect(): { connect: (url: string, o: IClientOptions) => MqttClient; clients: FakeClient[]; options: IClientOptions[] } {
  const clients: FakeClient[] = [];
  const options: IClientOptions[] = [];
  return {
    clients,
    options,
    connect: (_url, o) => {
      const c = new FakeClient();
      clients.push(c);
      options.push(o);
      return c as unknown as MqttClient;
    },
  };
}

/** The queue opens with real file I/O before the first connect: wait for it without a clock. */
async function untilConnecting(clients: FakeClient[]): Promise<void> {
  for (let i = 0; i < 1000 && clients.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
}

t.test('backoffDelay: doubles from minMs, capped at maxMs, jitter within [step/2, step]', async (t) => {
  const o = { minMs: 1000, maxMs: 8000 };
  t.same([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, { ...o, random: () => 1 })), [1000, 2000, 4000, 8000, 8000, 8000]);
  t.same([0, 1, 2, 3].map((a) => backoffDelay(a, { ...o, random: () => 0 })), [500, 1000, 2000, 4000]);
  t.equal(backoffDelay(1000, { ...o, random: () => 0.5 }), 6000, 'huge attempt counts do not overflow');
});

t.test('one guarded timer drives the retries; the step grows, resets after a stable connection; close clears it', async (t) => {
  const clock = new ManualClock();
  const fake = fakeConnect();
  const link = await makeLink(t, { url: 'mqtt://nowhere:1883', startWaitMs: 1000, reconnect: { minMs: 1000, maxMs: 4000 } }, { clock, random: () => 1, connect: fake.connect });
  const starting = link.start();
  await untilConnecting(fake.clients);
  t.equal(fake.clients.length, 1);
  t.match(fake.options[0], { reconnectPeriod: 0, clean: true, resubscribe: false, protocolVersion: 5, will: { topic: 'openstarry/dev1/status', retain: true, qos: 1 } });
  fake.clients[0]?.emit('error', new Error('connect ECONNREFUSED'));
  fake.clients[0]?.emit('close');
  fake.clients[0]?.emit('close'); // mqtt.js may report a close twice: still one timer
  t.equal(link.state().state, 'offline');
  t.equal(link.state().lastError, 'connect ECONNREFUSED');
  t.equal(clock.pending, 2, 'the retry timer plus start()\'s bounded wait');
  clock.advance(1000); // start() gives up waiting; the first retry (1000 ms) is due too
  await starting;
  t.equal(fake.clients.length, 2, 'retry 1 after 1000 ms');
  fake.clients[1]?.emit('close');
  clock.advance(1999);
  t.equal(fake.clients.length, 2);
  clock.advance(1);
  t.equal(fake.clients.length, 3, 'retry 2 after 2000 ms');
  fake.clients[2]?.emit('close');
  clock.advance(4000);
  fake.clients[3]?.emit('close');
  clock.advance(3999);
  t.equal(fake.clients.length, 4, 'capped at 4000 ms');
  clock.advance(1);
  t.equal(fake.clients.length, 5);
  t.equal(clock.pending, 0, 'no timer while an attempt is under way');

  fake.clients[4]?.emit('connect', { cmd: 'connack', properties: { receiveMaximum: 5 } });
  t.equal(link.state().state, 'connected');
  t.same(fake.clients[4]?.published, ['openstarry/dev1/status'], 'birth on connect');
  clock.advance(4000); // a stable connection...
  fake.clients[4]?.emit('close');
  t.equal(clock.pending, 1);
  clock.advance(999);
  t.equal(fake.clients.length, 5);
  clock.advance(1);
  t.equal(fake.clients.length, 6, '...resets the step to minMs');
  fake.clients[5]?.emit('connect', { cmd: 'connack' });
  t.equal(link.state().reconnects, 1);
  fake.clients[5]?.emit('close');
  t.equal(clock.pending, 1);
  await link.close();
  t.equal(clock.pending, 0, 'close() clears the retry timer');
  t.equal(link.state().state, 'stopped');
  t.ok(fake.clients.every((c) => c.ended), 'every client ended');
  t.throws(() => link.publish('out/x', 'late'), { code: 'ERR_LINK_STOPPED' });
});

t.test('QoS 1 is sent with at most receiveMaximum in flight (the birth included), in order, and acked out of the queue', async (t) => {
  const clock = new ManualClock();
  const fake = fakeConnect();
  const link = await makeLink(t, { url: 'mqtt://nowhere:1883', startWaitMs: 0 }, { clock, connect: fake.connect });
  const starting = link.start();
  await untilConnecting(fake.clients);
  clock.advance(0);
  await starting;
  for (let i = 0; i < 10; i++) link.publish('out/n', String(i));
  const c = fake.clients[0];
  let inFlight = 0;
  let maxInFlight = 0;
  const order: string[] = [];
  c!.publish = function (topic: string, payload: Buffer | string, _o: unknown, cb?: (err?: Error) => void) {
    this.published.push(topic);
    if (!topic.endsWith('/status')) order.push(payload.toString());
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setImmediate(() => {
      inFlight--;
      cb?.();
    });
    return this;
  };
  c?.emit('connect', { cmd: 'connack', properties: { receiveMaximum: 3 } });
  for (let i = 0; i < 50 && link.state().queue.queued > 0; i++) await new Promise((r) => setImmediate(r));
  t.equal(link.state().queue.queued, 0);
  t.same(order, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  t.equal(maxInFlight, 3, 'the birth held one of the three places until its PUBACK');
});
