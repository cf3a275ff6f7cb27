/**
 * The daemon's own sensor sampler (issue 15: the dashboard's "each sensor's last 10 minutes as a small chart"; Home
 * Assistant's states read the same samples). A sensor's status() only changes when someone reads it
 * (drivers/chips/measuring-sensor.ts), so without a reader the page would show a value frozen at the last agent read.
 *
 * Every `intervalMs` on the injected clock it reads every working sensor device once: through `measure()` when the
 * driver has it (one measurement of every quantity, shared with any agent or rule reading at that moment), else one
 * `read(quantity)` per quantity. A device whose previous read is still running (a hung bus) is skipped, not stacked.
 * Each device+quantity keeps a bounded ring of the last `windowMs` (10 min). Errors are counted, never thrown; a
 * listener that throws is counted and does not stop the others. It runs only while something uses it (the daemon
 * starts it with the dashboard); close() is idempotent and clears its timer.
 */
import type { Clock } from '../runtime/clock.ts';
import type { Logger } from '../runtime/logging/logger.ts';
import { silentLogger } from '../runtime/logging/logger.ts';
import type { IDevice, ISensorDevice } from '../drivers/device.ts';

export interface SensorSample {
  deviceId: string;
  values: Record<string, number>;
  /** Clock time (ms) of the sample. */
  at: number;
}

export type SampleListener = (s: SensorSample) => void;

export interface SensorSamplerStats {
  /** Samples taken (one per device per round that read at least one finite value). */
  samples: number;
  /** Reads that failed or gave no finite number. */
  errors: number;
  /** Rounds a device was skipped because its previous read was still running. */
  skipped: number;
  /** Listener calls that threw. */
  listenerErrors: number;
  devices: number;
}

export interface SensorSamplerOptions {
  /** The HAL's devices (DeviceRegistry.list()): asked every round, so only working sensors are read. */
  devices: () => Iterable<{ id: string; device?: IDevice }>;
  clock: Clock;
  /** Default 5 s (`dashboard.sampleInterval`). */
  intervalMs?: number;
  /** History kept per device+quantity; default 10 min. */
  windowMs?: number;
  log?: Logger;
}

/** One device+quantity's history: parallel arrays of times and values, oldest first, at most `capacity` long. */
class Ring {
  readonly at: number[] = [];
  readonly values: number[] = [];
  constructor(readonly capacity: number) {}
  push(at: number, value: number): void {
    this.at.push(at);
    this.values.push(value);
    if (this.at.length > this.capacity) {
      this.at.shift();
      this.values.shift();
    }
  }
}

type Measurable = ISensorDevice & { measure?: () => Promise<Record<string, number>> };

export class SensorSampler {
  readonly #o: Required<Omit<SensorSamplerOptions, 'log'>> & { log: Logger };
  readonly #rings = new Map<string, Map<string, Ring>>();
  readonly #latest = new Map<string, SensorSample>();
  readonly #busy = new Set<string>();
  readonly #listeners = new Set<SampleListener>();
  readonly #stats = { samples: 0, errors: 0, skipped: 0, listenerErrors: 0 };
  readonly #failing = new Set<string>();
  #timer: unknown;
  #started = false;
  #closed = false;

  constructor(options: SensorSamplerOptions) {
    this.#o = { devices: options.devices, clock: options.clock, intervalMs: options.intervalMs ?? 5000, windowMs: options.windowMs ?? 600_000, log: options.log ?? silentLogger };
    if (!(this.#o.intervalMs > 0) || !(this.#o.windowMs >= this.#o.intervalMs)) throw new RangeError(`sensor sampler: intervalMs must be > 0 and <= windowMs (got ${this.#o.intervalMs}, ${this.#o.windowMs})`);
  }

  get intervalMs(): number {
    return this.#o.intervalMs;
  }

  get windowMs(): number {
    return this.#o.windowMs;
  }

  /** Samples now, then every intervalMs. Idempotent; a no-op after close(). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#round();
  }

  /** The last sample of each device that has one. */
  latest(): SensorSample[] {
    return [...this.#latest.values()].map((s) => ({ ...s, values: { ...s.values } }));
  }

  /** Per device, per quantity: the samples of the last windowMs as parallel `at` and `values` arrays, oldest first. */
  history(): Record<string, Record<string, { at: number[]; values: number[] }>> {
    const since = this.#o.clock.now() - this.#o.windowMs;
    const out: Record<string, Record<string, { at: number[]; values: number[] }>> = {};
    for (const [id, rings] of this.#rings) {
      const quantities: Record<string, { at: number[]; values: number[] }> = {};
      for (const [q, ring] of rings) {
        const from = ring.at.findIndex((t) => t >= since);
        if (from >= 0) quantities[q] = { at: ring.at.slice(from), values: ring.values.slice(from) };
      }
      out[id] = quantities;
    }
    return out;
  }

  /** Called with every sample; returns the unsubscribe. */
  onSample(fn: (s: { deviceId: string; values: Record<string, number>; at: number }) => void): () => void {
    const listener: SampleListener = (s) => fn(s);
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  stats(): SensorSamplerStats {
    return { ...this.#stats, devices: this.#latest.size };
  }

  /** Stops sampling and forgets the listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #round(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimeout(() => this.#round(), this.#o.intervalMs);
    for (const { id, device } of this.#o.devices()) {
      if (device?.kind !== 'sensor') continue;
      if (this.#busy.has(id)) {
        this.#stats.skipped += 1;
        continue;
      }
      this.#busy.add(id);
      void this.#sample(id, device).finally(() => this.#busy.delete(id));
    }
  }

  async #sample(id: string, device: Measurable): Promise<void> {
    let values: Record<string, number> = {};
    let problem: string | undefined;
    try {
      if (typeof device.measure === 'function') {
        values = await device.measure();
      } else {
        for (const q of device.quantities) values[q] = await device.read(q);
      }
    } catch (err) {
      problem = (err as Error).message;
    }
    if (this.#closed) return;
    const finite: Record<string, number> = {};
    for (const q of device.quantities) {
      const v = values[q];
      if (typeof v === 'number' && Number.isFinite(v)) finite[q] = v;
      else problem ??= `${q} is not a finite number (${String(v)})`;
    }
    if (problem !== undefined) {
      this.#stats.errors += 1;
      if (!this.#failing.has(id)) this.#o.log.warn(`sensor sampler: ${id}: ${problem}`);
      this.#failing.add(id);
    } else if (this.#failing.delete(id)) {
      this.#o.log.info(`sensor sampler: ${id} reads again`);
    }
    if (Object.keys(finite).length === 0) return;
    const at = this.#o.clock.now();
    let rings = this.#rings.get(id);
    if (!rings) this.#rings.set(id, (rings = new Map()));
    const capacity = Math.ceil(this.#o.windowMs / this.#o.intervalMs) + 1;
    for (const [q, v] of Object.entries(finite)) {
      let ring = rings.get(q);
      if (!ring) rings.set(q, (ring = new Ring(capacity)));
      ring.push(at, v);
    }
    const sample: SensorSample = { deviceId: id, values: finite, at };
    this.#latest.set(id, sample);
    this.#stats.samples += 1;
    for (const l of this.#listeners) {
      try {
        l({ ...sample, values: { ...finite } });
      } catch (err) {
        this.#stats.listenerErrors += 1;
        this.#o.log.warn(`sensor sampler: a listener threw: ${(err as Error).message}`);
      }
    }
  }
}
