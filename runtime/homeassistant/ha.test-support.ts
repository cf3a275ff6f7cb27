/**
 * Test kit for runtime/homeassistant/: the real sim board's HAL (profile, sim buses, the real driver table, the real
 * HalService) with its sim world at hand to drive an input line, a sensor feed the test drives by hand, a logger that
 * keeps its lines, and a bridge on a real link — each closed in the test's teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { loadProfiles } from '../../board-profiles/detect.ts';
import type { BoardProfile } from '../../board-profiles/profile-schema.ts';
import { createDeviceDrivers } from '../../drivers/chips/index.ts';
import { openBoardBuses } from '../../hal/board-buses.ts';
import { DeviceRegistry } from '../../hal/device-registry.ts';
import { HalService } from '../../hal/hal-service.ts';
import { systemClock } from '../clock.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import { createLogger } from '../logging/logger.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import { HaBridge } from './ha-bridge.ts';
import type { SensorFeed, SensorSample } from './ha-bridge.ts';

export async function simHal(t: Test, configDevices: unknown[] = [], log: Logger = createLogger('hal', { write: () => undefined })) {
  const profiles = await loadProfiles(path.resolve(import.meta.dirname, '../../board-profiles'));
  const profile = profiles.get('sim') as BoardProfile;
  const boardBuses = await openBoardBuses(profile, { clock: systemClock });
  const sim = boardBuses.sim!;
  const registry = await DeviceRegistry.build({
    sources: [
      ...(profile.devices ?? []).map((entry, i) => ({ where: `board sim devices.${i}`, origin: 'board' as const, entry })),
      ...configDevices.map((entry, i) => ({ where: `config devices.${i}`, origin: 'config' as const, entry })),
    ],
    drivers: createDeviceDrivers({ clock: sim.clock }),
    buses: boardBuses.buses,
    sim,
    clock: systemClock,
    log,
  });
  t.teardown(async () => {
    await registry.close();
    await boardBuses.close();
  });
  return { registry, service: new HalService(registry, systemClock, log), sim };
}

/** A SensorFeed the test drives: emit() hands a sample to every listener; read() takes one from the sim devices. */
export function manualFeed(): SensorFeed & { emit(sample: SensorSample): void; listeners(): number } {
  const listeners = new Set<(s: SensorSample) => void>();
  return {
    onSample(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    emit: (sample) => listeners.forEach((fn) => fn(sample)),
    listeners: () => listeners.size,
  };
}

export function linesLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('ha', { level: 'debug', write: (line) => void lines.push(line) }), lines };
}

export function tempFile(t: Test, name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'os-ha-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, name);
}

export function makeBridge(t: Test, o: { link: MqttLink; hal: { registry: DeviceRegistry; service: HalService }; feed: SensorFeed; stateFile: string; log: Logger; intervalMs?: number; agentsRunning?: () => number; clock?: Clock }): HaBridge {
  const bridge = new HaBridge({
    config: { enabled: true, prefix: 'homeassistant', intervalMs: o.intervalMs ?? 30_000 },
    link: o.link,
    hal: { registry: o.hal.registry, operatorControl: (id, command, origin) => o.hal.service.operatorControl(id, command, origin) },
    feed: o.feed,
    board: { deviceId: 'dev1', model: 'sim', version: '0.0.0-test' },
    stateFile: o.stateFile,
    agentsRunning: o.agentsRunning ?? (() => 1),
    clock: o.clock ?? systemClock,
    log: o.log,
  });
  t.teardown(() => bridge.close());
  return bridge;
}
