// The channel's table (channel-methods.ts) typed end to end: what compiles here works over the wire, and the
// `@ts-expect-error` lines are the guarantee itself — `npm run typecheck` fails if any of them stops being an error
// (a misspelt method, wrong params, a handler answering the wrong type, a note sent the wrong way).
import t from 'tap';
import { ChannelEndpoint } from './channel-endpoint.ts';
import { ErrorCode } from './errors.ts';
import type { DaemonChannel, DaemonSide, IsolateChannel, IsolateSide } from './channel-methods.ts';
import { isolateNote } from './channel-methods.ts';
import { inMemoryChannelPair } from './in-memory-channel.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function ends(): { daemon: DaemonChannel; isolate: IsolateChannel } {
  const [d, i] = inMemoryChannelPair();
  return { daemon: new ChannelEndpoint<DaemonSide>(d), isolate: new ChannelEndpoint<IsolateSide>(i) };
}

t.test('typed requests and notes cross in both directions', async (t) => {
  const { daemon, isolate } = ends();
  daemon.handle('hal.read', (params) => {
    // The daemon's handlers get unknown params from the untrusted isolate and check them.
    t.same(params, { sensorType: 'temperature' });
    return 21.5;
  });
  isolate.handle('agent.snapshot', () => ({ k: 1 }));
  const notes: unknown[] = [];
  daemon.onNote('log', (p) => notes.push(p));
  isolate.onNote('events.deliver', (p) => notes.push(p.name));

  const reading: number = await isolate.request('hal.read', { sensorType: 'temperature' });
  t.equal(reading, 21.5);
  t.same(await daemon.request('agent.snapshot'), { k: 1 });
  isolate.notify('log', { level: 'info', message: 'hi' });
  daemon.notify('events.deliver', { name: 'a/b', data: null, source: 'cli' });
  await flush();
  t.same(notes, [{ level: 'info', message: 'hi' }, 'a/b']);
  t.same(isolateNote('host.fatal', { error: { code: 'ERR_X', message: 'x' } }), { t: 'note', method: 'host.fatal', params: { error: { code: 'ERR_X', message: 'x' } } });
  daemon.close();
  isolate.close();
});

t.test('tsc rejects what the table does not declare', async (t) => {
  const { daemon, isolate } = ends();
  const sent: Promise<unknown>[] = [];
  // @ts-expect-error a misspelt method
  sent.push(isolate.request('hal.raed', { sensorType: 'temperature' }));
  // @ts-expect-error wrong params: sensorType is a string
  isolate.request('hal.read', { sensorType: 42 }).catch(() => undefined);
  // @ts-expect-error missing params
  isolate.request('hal.read').catch(() => undefined);
  // @ts-expect-error a request of the other direction: the isolate does not ask the daemon to stop
  sent.push(isolate.request('agent.stop'));
  // @ts-expect-error a misspelt note
  isolate.notify('lifecycel', { state: 'running' });
  // @ts-expect-error wrong note params
  isolate.notify('lifecycle', { state: 'sleeping' });
  // @ts-expect-error a handler answering the wrong type (hal.read answers a number)
  daemon.handle('hal.read', () => 'warm');
  // @ts-expect-error the daemon does not handle its own requests
  daemon.handle('agent.usage', () => ({ memoryBytes: 1 }));
  // @ts-expect-error an unknown note to listen for
  daemon.onNote('lgo', () => undefined);
  // @ts-expect-error the daemon's handlers get unknown params, not the declared type: it must check them
  daemon.handle('hal.read', (p) => p.sensorType.length);
  // @ts-expect-error a raw note of a method the table does not declare
  isolateNote('host.fatl', { error: { code: 'ERR_X', message: 'x' } });
  // What tsc rejects still fails at run time when it gets through (the runtime checks stay): an unknown method.
  for (const err of await Promise.all(sent.map((p) => p.catch((e: unknown) => e)))) t.match(err, { code: ErrorCode.METHOD_NOT_FOUND });
  daemon.close();
  isolate.close();
});
