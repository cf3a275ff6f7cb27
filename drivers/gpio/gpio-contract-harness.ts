/**
 * Helpers of the GPIO contract suite (gpio-contract.ts): one way to set the input and observe the output whether
 * the target is a sim (drive/level) or a board with two jumpered lines, and an edge collector that waits.
 */
import type { Test } from 'tap';
import type { GpioEdgeEvent, GpioValue, IGpioBus, IGpioLine } from './gpio-bus.ts';

export interface GpioContractTarget {
  /** A fresh bus; the suite closes it. */
  bus: IGpioBus;
  /** Two line numbers; without `drive`, `output` must be wired to `input`. */
  lines: { output: number; input: number };
  /** Sets the physical level on a line from outside (sim). */
  drive?: (line: number, value: GpioValue) => void;
  /** The physical level an output drives (sim); without it the wire to `input` is read instead. */
  level?: (line: number) => GpioValue | undefined;
}

/** How long the suite waits for an edge before failing (a board's epoll latency is well under 1 ms). */
const EDGE_WAIT_MS = 2000;

export interface Harness extends GpioContractTarget {
  /** Sets the input's physical level (drive, or the wired output). */
  setInput(value: GpioValue): Promise<void>;
  /** The output's physical level (level(), or reading the wire through the input line, which must be closed). */
  physicalOutput(): Promise<GpioValue | undefined>;
  /** Lets edges already caused reach their watchers (a later turn on the sim, epoll latency on a board). */
  settle(): Promise<void>;
}

export async function harness(t: Test, build: () => Promise<GpioContractTarget>): Promise<Harness> {
  const target = await build();
  const { bus, lines, drive, level } = target;
  t.teardown(() => bus.close());
  let wire: IGpioLine | undefined;
  return {
    ...target,
    async setInput(value) {
      if (drive) return drive(lines.input, value);
      wire ??= await bus.open(lines.output, { direction: 'out', initial: value });
      await wire.write(value);
    },
    async physicalOutput() {
      if (level) return level(lines.output);
      const probe = await bus.open(lines.input, { direction: 'in' });
      try {
        return await probe.read();
      } finally {
        await probe.close();
      }
    },
    async settle() {
      if (drive) {
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
      } else {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Collects edges; `next(n)` resolves once n edges have arrived in total. */
export function collect(line: IGpioLine): { events: GpioEdgeEvent[]; stop: () => void; next: (n: number) => Promise<void> } {
  const events: GpioEdgeEvent[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const stop = line.watch((event) => {
    events.push(event);
    if (waiter && events.length >= waiter.n) waiter.resolve();
  });
  const next = (n: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (events.length >= n) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`expected ${n} edge(s) on GPIO ${line.line}, saw ${events.length}`)),
        EDGE_WAIT_MS,
      );
      waiter = {
        n,
        resolve: () => {
          clearTimeout(timer);
          waiter = undefined;
          resolve();
        },
      };
    });
  return { events, stop, next };
}

