/**
 * Starts the event sources a rule set needs — its timers, the GPIO inputs and sensor readings its rules name —
 * plus the lifecycle adapter, in one call for the daemon. MQTT `event/...`, `openstarry emit` and agents'
 * publications need no adapter: the daemon calls the orchestrator's emit() for them.
 */
import type { Clock } from '../../clock.ts';
import type { HalInputEdge } from '../../core/hal-api.ts';
import type { Logger } from '../../logging/logger.ts';
import type { RuleSet } from '../rules-schema.ts';
import type { Emit, EventSource } from './event-source.ts';
import { startGpioSource } from './gpio-source.ts';
import type { LifecycleSource } from './lifecycle-source.ts';
import { createLifecycleSource } from './lifecycle-source.ts';
import type { SensorSource } from './sensor-source.ts';
import { startSensorSource } from './sensor-source.ts';
import { startTimerSource } from './timer-source.ts';

export interface RuleSourcesDeps {
  emit: Emit;
  clock: Clock;
  log: Logger;
  /** The HAL's daemon-side input watch; without it GPIO rules never fire (logged). */
  watch?(deviceId: string, listener: (edge: HalInputEdge) => void): () => void;
  /** Every input device id, for rules such as `gpio:*:rising`. */
  inputDevices?(): string[];
  /** The HAL's daemon-side sensor read; without it sensor rules never fire (logged). */
  read?(device: string, quantity: string): Promise<number>;
  sensorTimeoutMs?: number;
}

export interface RuleSources {
  lifecycle: LifecycleSource;
  sensors: SensorSource | undefined;
  /** Stops every source; idempotent. */
  stop(): void;
}

export function startRuleSources(rules: RuleSet, deps: RuleSourcesDeps): RuleSources {
  const started: EventSource[] = [];
  if (rules.timers.length > 0) started.push(startTimerSource({ timers: rules.timers, clock: deps.clock, emit: deps.emit }));
  const gpio = new Set(rules.gpioDevices);
  if (rules.gpioAllInputs) for (const d of deps.inputDevices?.() ?? []) gpio.add(d);
  if (gpio.size > 0) {
    if (deps.watch) started.push(startGpioSource({ devices: [...gpio], watch: deps.watch, emit: deps.emit, log: deps.log }));
    else deps.log.warn(`rules use gpio devices (${[...gpio].join(', ')}) but no HAL watch is available`);
  }
  let sensors: SensorSource | undefined;
  if (rules.sensors.length > 0) {
    if (deps.read) {
      const options = { sensors: rules.sensors, read: deps.read, clock: deps.clock, emit: deps.emit, log: deps.log };
      sensors = startSensorSource(deps.sensorTimeoutMs === undefined ? options : { ...options, timeoutMs: deps.sensorTimeoutMs });
      started.push(sensors);
    } else {
      deps.log.warn('rules use sensor readings but no HAL read is available');
    }
  }
  return {
    lifecycle: createLifecycleSource(deps.emit),
    sensors,
    stop() {
      for (const s of started.splice(0).reverse()) s.stop();
    },
  };
}
