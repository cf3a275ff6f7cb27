/**
 * Sensor readings as events for threshold rules: polls `read(device, quantity)` every `everyMs` per reading the
 * rules name and emits `sensor:<device>.<quantity>` with { device, quantity, value }. The rule's `if` compares
 * `value`; `edge: true` makes it a threshold crossing. One read at a time per sensor: a read still running when
 * the next poll is due (a hung I²C bus) is not stacked; a read that takes longer than `timeoutMs` counts as failed.
 * Failures are logged when a sensor starts failing and when it recovers, not on every poll.
 */
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logging/logger.ts';
import type { SensorWatch } from '../rules-schema.ts';
import type { Emit, EventSource } from './event-source.ts';

export interface SensorSourceOptions {
  sensors: readonly SensorWatch[];
  /** The daemon-side HAL read (no capability check: the rules file is the device owner's own configuration). */
  read(device: string, quantity: string): Promise<number>;
  clock: Clock;
  emit: Emit;
  log: Logger;
  timeoutMs?: number;
}

export interface SensorSource extends EventSource {
  /** Per `device.quantity`: reads done, failed, and skipped because the previous one was still running. */
  counters(): Record<string, { reads: number; failures: number; skipped: number }>;
}

export function startSensorSource(options: SensorSourceOptions): SensorSource {
  const timeoutMs = options.timeoutMs ?? 5000;
  const timers = new Set<unknown>();
  const counters: Record<string, { reads: number; failures: number; skipped: number }> = {};
  let stopped = false;

  const later = (fn: () => void, ms: number) => {
    const h = options.clock.setTimeout(() => {
      timers.delete(h);
      fn();
    }, ms);
    timers.add(h);
    return h;
  };

  for (const sensor of options.sensors) {
    const key = `${sensor.device}.${sensor.quantity}`;
    const c = (counters[key] = { reads: 0, failures: 0, skipped: 0 });
    let busy = false;
    let failing = false;
    const poll = async () => {
      if (stopped) return;
      later(() => void poll(), sensor.everyMs);
      if (busy) {
        c.skipped += 1;
        return;
      }
      busy = true;
      let timer: unknown;
      try {
        const value = await Promise.race([
          options.read(sensor.device, sensor.quantity),
          new Promise<never>((_, reject) => {
            timer = later(() => reject(new Error(`no reading within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        if (stopped) return;
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`reading is not a finite number: ${String(value)}`);
        c.reads += 1;
        if (failing) options.log.info(`sensor ${key} reads again`);
        failing = false;
        options.emit({ name: `sensor:${key}`, data: { device: sensor.device, quantity: sensor.quantity, value }, source: 'sensor' });
      } catch (err) {
        c.failures += 1;
        if (!failing && !stopped) options.log.warn(`sensor ${key} for orchestration rules cannot be read: ${(err as Error).message}`);
        failing = true;
      } finally {
        if (timer !== undefined) {
          options.clock.clearTimeout(timer);
          timers.delete(timer);
        }
        busy = false;
      }
    };
    later(() => void poll(), 0);
  }

  return {
    name: 'sensors',
    counters: () => structuredClone(counters),
    stop() {
      stopped = true;
      for (const h of timers) options.clock.clearTimeout(h);
      timers.clear();
    },
  };
}
