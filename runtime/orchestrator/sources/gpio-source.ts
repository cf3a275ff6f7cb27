/**
 * GPIO edges as events: `gpio:<device>:rising|falling` with { device, edge, value }. The daemon injects the HAL's
 * daemon-side watch (the same debounced edges agents get through ctx.hal.watch). A device that cannot be watched
 * (unknown, not an input) is logged and skipped; the rules that name it simply never fire.
 */
import type { HalInputEdge } from '../../core/hal-api.ts';
import type { Logger } from '../../logging/logger.ts';
import type { Emit, EventSource } from './event-source.ts';

export interface GpioSourceOptions {
  devices: readonly string[];
  watch(deviceId: string, listener: (edge: HalInputEdge) => void): () => void;
  emit: Emit;
  log: Logger;
}

export function startGpioSource(options: GpioSourceOptions): EventSource {
  const offs: (() => void)[] = [];
  for (const device of new Set(options.devices)) {
    try {
      offs.push(
        options.watch(device, (edge) => {
          options.emit({ name: `gpio:${device}:${edge.edge}`, data: { device, edge: edge.edge, value: edge.value }, source: 'gpio' });
        }),
      );
    } catch (err) {
      options.log.warn(`rules name gpio device ${device}, which cannot be watched: ${(err as Error).message}`);
    }
  }
  return {
    name: 'gpio',
    stop() {
      for (const off of offs.splice(0)) {
        try {
          off();
        } catch {
          // Already closed by the HAL (it shut down first): nothing left to release.
        }
      }
    },
  };
}
