/**
 * A minimal SensorFeed (ha-bridge.ts) for the daemon: every sensor's quantities read every `intervalMs`.
 *
 * FOR THE LEAD AT MERGE: this stands in for s21-page's hal/sensor-sampler.ts (same `onSample` shape, one sampler for
 * the page, /metrics and Home Assistant). Replace its one use in runtime/daemon/homeassistant-wiring.ts with that
 * sampler and delete this file.
 *
 * A quantity that cannot be read now (a GPS without a fix, a bus error) is left out of that sample; the rest go.
 * Reads go straight to the devices, one at a time, so the feed never holds more than one bus transaction.
 */
import type { Clock } from '../clock.ts';
import { every } from '../clock.ts';
import type { Repeating } from '../clock.ts';
import type { DeviceRegistry } from '../../hal/device-registry.ts';
import type { SensorFeed, SensorSample } from './ha-bridge.ts';

export function pollingSensorFeed(registry: Pick<DeviceRegistry, 'list'>, clock: Clock, intervalMs: number): SensorFeed {
  const listeners = new Set<(s: SensorSample) => void>();
  let timer: Repeating | undefined;
  let running = false;
  const sampleAll = async (): Promise<void> => {
    if (running) return; // a slow bus: the next round waits for this one
    running = true;
    try {
      for (const d of registry.list()) {
        const device = d.device;
        if (device?.kind !== 'sensor' || listeners.size === 0) continue;
        const values: Record<string, number> = {};
        for (const q of device.quantities) {
          try {
            values[q] = await device.read(q);
          } catch {
            // not readable now: left out of this sample
          }
        }
        if (Object.keys(values).length === 0) continue;
        const sample = { deviceId: d.id, values, at: clock.now() };
        for (const fn of listeners) fn(sample);
      }
    } finally {
      running = false;
    }
  };
  return {
    onSample(fn) {
      listeners.add(fn);
      if (!timer) {
        timer = every(clock, intervalMs, () => void sampleAll(), { unref: true });
        void sampleAll();
      }
      return () => {
        listeners.delete(fn);
        if (listeners.size === 0) {
          timer?.stop();
          timer = undefined;
        }
      };
    },
  };
}
