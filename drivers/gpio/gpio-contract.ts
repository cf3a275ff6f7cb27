/**
 * The behaviour every IGpioBus binding must show (docs/ARCHITECTURE.md "Contract, real and sim bindings"). Run against the sim always and against onoff on a
 * board (see gpio-contract.test.ts); a binding that passes can replace another under the HAL unnoticed.
 *
 * Two ways to make the input line change:
 * - `drive` (sim): sets the input's physical level from outside;
 * - otherwise the output line must be WIRED to the input line (a jumper between the two header pins): the suite
 *   then drives the input by writing the output. The same wire lets it observe an output's physical level.
 */
import type { Test } from 'tap';
import { DriverErrorCode } from '../errors.ts';
import type { GpioLineOptions, GpioValue } from './gpio-bus.ts';
import { collect, harness } from './gpio-contract-harness.ts';
import type { GpioContractTarget } from './gpio-contract-harness.ts';

export type { GpioContractTarget } from './gpio-contract-harness.ts';

const invalid = { code: DriverErrorCode.INVALID_ARGUMENT };
const closed = { code: DriverErrorCode.CLOSED };

export function runGpioContract(t: Test, build: () => Promise<GpioContractTarget>): void {
  t.test('open rejects invalid lines and options before touching the line', async (t) => {
    const { bus, lines } = await harness(t, build);
    const bad: [number, unknown][] = [
      [-1, { direction: 'out' }],
      [1.5, { direction: 'out' }],
      [lines.output, { direction: 'sideways' }],
      [lines.output, { direction: 'out', initial: 2 }],
      [lines.output, { direction: 'out', edge: 'rising' }],
      [lines.input, { direction: 'in', initial: 1 }],
      [lines.input, { direction: 'in', edge: 'up' }],
      [lines.input, { direction: 'in', activeLow: 'yes' }],
      [lines.input, null],
    ];
    for (const [line, options] of bad) {
      await t.rejects(bus.open(line, options as GpioLineOptions), invalid, `${line} ${JSON.stringify(options)}`);
    }
    // Nothing stayed reserved by the rejected calls.
    await (await bus.open(lines.output, { direction: 'out' })).close();
  });

  t.test('an output starts at its initial level, defaulting to inactive (logical 0)', async (t) => {
    const h = await harness(t, build);
    for (const initial of [1, 0, undefined] as const) {
      const out = await h.bus.open(h.lines.output, { direction: 'out', initial });
      t.equal(await out.read(), initial ?? 0, `read back, initial ${String(initial)}`);
      t.equal(await h.physicalOutput(), initial ?? 0, `on the wire, initial ${String(initial)}`);
      t.equal(out.options.direction, 'out');
      await out.close();
    }
  });

  t.test('write drives the output; read reads it back', async (t) => {
    const h = await harness(t, build);
    const out = await h.bus.open(h.lines.output, { direction: 'out', initial: 0 });
    await out.write(1);
    t.equal(await out.read(), 1);
    t.equal(await h.physicalOutput(), 1);
    await out.write(0);
    t.equal(await out.read(), 0);
    t.equal(await h.physicalOutput(), 0);
  });

  t.test('write rejects values other than 0/1 and keeps working', async (t) => {
    const h = await harness(t, build);
    const out = await h.bus.open(h.lines.output, { direction: 'out', initial: 1 });
    for (const value of [2, -1, 0.5, true, '1', undefined]) {
      await t.rejects(out.write(value as GpioValue), invalid, `value ${String(value)}`);
    }
    t.equal(await out.read(), 1, 'level unchanged by rejected writes');
    await out.write(0);
    t.equal(await out.read(), 0);
  });

  t.test('activeLow inverts an output: logical values on the API, inverted on the wire', async (t) => {
    const h = await harness(t, build);
    const out = await h.bus.open(h.lines.output, { direction: 'out', activeLow: true, initial: 1 });
    t.equal(await out.read(), 1);
    t.equal(await h.physicalOutput(), 0, 'initial 1 drives the wire low');
    await out.write(0);
    t.equal(await h.physicalOutput(), 1);
    await out.close();
    const idle = await h.bus.open(h.lines.output, { direction: 'out', activeLow: true });
    t.equal(await idle.read(), 0, 'no initial: opens inactive');
    t.equal(await h.physicalOutput(), 1, 'inactive active-low output is high on the wire');
  });

  t.test('an input reads the wire; activeLow inverts it', async (t) => {
    const h = await harness(t, build);
    const input = await h.bus.open(h.lines.input, { direction: 'in' });
    await h.setInput(1);
    t.equal(await input.read(), 1);
    await h.setInput(0);
    t.equal(await input.read(), 0);
    await input.close();
    const inverted = await h.bus.open(h.lines.input, { direction: 'in', activeLow: true });
    t.equal(await inverted.read(), 1, 'low wire reads logical 1');
    await h.setInput(1);
    t.equal(await inverted.read(), 0);
  });

  t.test('write on an input and watch without an edge are rejected', async (t) => {
    const h = await harness(t, build);
    const input = await h.bus.open(h.lines.input, { direction: 'in' });
    await t.rejects(input.write(1), invalid);
    t.throws(() => input.watch(() => undefined), invalid, 'edge defaults to none');
    await input.close();
    const none = await h.bus.open(h.lines.input, { direction: 'in', edge: 'none' });
    t.throws(() => none.watch(() => undefined), invalid);
    await none.close();
    const out = await h.bus.open(h.lines.output, { direction: 'out' });
    t.throws(() => out.watch(() => undefined), invalid, 'outputs report no edges');
  });

  t.test('edge both: each change reaches the watcher with the new logical value and a time', async (t) => {
    const h = await harness(t, build);
    await h.setInput(0);
    const input = await h.bus.open(h.lines.input, { direction: 'in', edge: 'both' });
    const seen = collect(input);
    await h.setInput(1);
    if (h.drive) t.equal(seen.events.length, 0, 'not delivered synchronously inside drive()');
    await seen.next(1);
    await h.setInput(0);
    await seen.next(2);
    t.same(
      seen.events.map((e) => e.value),
      [1, 0],
    );
    for (const event of seen.events) t.ok(Number.isFinite(event.at), 'at is a number');
    t.ok((seen.events[1]?.at ?? -1) >= (seen.events[0]?.at ?? Infinity), 'at is monotonic');
    seen.stop();
  });

  t.test('edge rising reports only rising edges; falling only falling', async (t) => {
    const h = await harness(t, build);
    await h.setInput(0);
    const rising = await h.bus.open(h.lines.input, { direction: 'in', edge: 'rising' });
    const up = collect(rising);
    await h.setInput(1);
    await up.next(1);
    await h.setInput(0);
    await h.setInput(1);
    await up.next(2);
    t.same(
      up.events.map((e) => e.value),
      [1, 1],
      'the falling edge in between was not reported',
    );
    await rising.close();

    const falling = await h.bus.open(h.lines.input, { direction: 'in', edge: 'falling' });
    const down = collect(falling);
    await h.setInput(0);
    await down.next(1);
    await h.setInput(1);
    await h.setInput(0);
    await down.next(2);
    t.same(
      down.events.map((e) => e.value),
      [0, 0],
    );
  });

  t.test('activeLow edges are logical: a falling wire is a rising edge', async (t) => {
    const h = await harness(t, build);
    await h.setInput(0);
    const input = await h.bus.open(h.lines.input, { direction: 'in', edge: 'rising', activeLow: true });
    const seen = collect(input);
    await h.setInput(1); // logical 1 -> 0: falling, not reported
    await h.setInput(0); // logical 0 -> 1: rising
    await seen.next(1);
    await h.settle();
    t.same(
      seen.events.map((e) => e.value),
      [1],
    );
  });

  t.test('unsubscribing stops one watcher; the others keep receiving', async (t) => {
    const h = await harness(t, build);
    await h.setInput(0);
    const input = await h.bus.open(h.lines.input, { direction: 'in', edge: 'both' });
    const a = collect(input);
    const b = collect(input);
    await h.setInput(1);
    await a.next(1);
    await b.next(1);
    b.stop();
    b.stop(); // idempotent
    await h.setInput(0);
    await a.next(2);
    await h.settle();
    t.equal(a.events.length, 2);
    t.equal(b.events.length, 1, 'no edge after unsubscribe');
  });

  t.test('a line open through this bus cannot be opened again until closed', async (t) => {
    const h = await harness(t, build);
    const first = h.bus.open(h.lines.output, { direction: 'out' });
    await t.rejects(h.bus.open(h.lines.output, { direction: 'out' }), { code: DriverErrorCode.OPEN_FAILED });
    const out = await first;
    await t.rejects(h.bus.open(h.lines.output, { direction: 'in' }), { code: DriverErrorCode.OPEN_FAILED });
    await out.close();
    const again = await h.bus.open(h.lines.output, { direction: 'out', initial: 1 });
    t.equal(await again.read(), 1);
  });

  t.test('close: pending operations settle, later ones reject ERR_DRIVER_CLOSED, watchers stop', async (t) => {
    const h = await harness(t, build);
    const out = await h.bus.open(h.lines.output, { direction: 'out' });
    const write = out.write(1);
    const read = out.read();
    const closing = out.close();
    await t.resolves(write, 'a write issued before close completes');
    t.ok([0, 1].includes(await read), 'a read issued before close resolves with a value');
    await closing;
    await t.resolves(out.close(), 'close is idempotent');
    await t.rejects(out.read(), closed);
    await t.rejects(out.write(0), closed);
    t.throws(() => out.watch(() => undefined), closed);

    if (h.drive) {
      h.drive(h.lines.input, 0);
      const input = await h.bus.open(h.lines.input, { direction: 'in', edge: 'both' });
      const seen = collect(input);
      h.drive(h.lines.input, 1); // edge in flight when the line closes
      await input.close();
      await h.settle();
      t.equal(seen.events.length, 0, 'an edge in flight at close is not delivered');
    }
  });

  t.test('bus close closes every line, is idempotent, and refuses later opens', async (t) => {
    const h = await harness(t, build);
    const out = await h.bus.open(h.lines.output, { direction: 'out' });
    const input = await h.bus.open(h.lines.input, { direction: 'in', edge: 'both' });
    collect(input);
    await Promise.all([h.bus.close(), h.bus.close()]);
    await h.bus.close();
    await t.rejects(out.read(), closed);
    await t.rejects(input.read(), closed);
    await t.rejects(h.bus.open(h.lines.output, { direction: 'out' }), closed);
  });
}
