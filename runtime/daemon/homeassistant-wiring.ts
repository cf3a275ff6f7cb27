/**
 * Home Assistant discovery in the daemon (README "Home Assistant"), loaded with `await import()` only when
 * `homeassistant.enabled`: nothing of runtime/homeassistant/ but its config fragment is on the boot path otherwise.
 * Started after the `rules` phase (it needs the HAL, the link and the agents); a failure is logged and shown in
 * `status`, never fatal: Home Assistant is a view of the board, not part of running it.
 */
import path from 'node:path';
import type { BoardHal } from '../../hal/board-hal.ts';
import type { Clock } from '../clock.ts';
import type { HomeAssistantConfig } from '../homeassistant/config.ts';
import { HaBridge } from '../homeassistant/ha-bridge.ts';
import type { SensorFeed } from '../homeassistant/ha-bridge.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import type { Logger } from '../logging/logger.ts';
import { VERSION } from '../version.ts';

/** What the daemon keeps: the bridge's status for `status --json`, and close() for the shutdown. */
export interface HomeAssistantPart {
  status(): { enabled: true; error?: string } & Record<string, unknown>;
  close(): Promise<void>;
}

export async function startHomeAssistant(o: {
  config: HomeAssistantConfig;
  link: MqttLink | undefined;
  hal: BoardHal;
  deviceId: string;
  model: string;
  home: string;
  agentsRunning: () => number;
  /** The daemon's sensor sampler (hal/sensor-sampler.ts), which the daemon runs whenever Home Assistant is on. */
  feed?: SensorFeed;
  clock: Clock;
  log: Logger;
}): Promise<HomeAssistantPart> {
  const failed = (error: string): HomeAssistantPart => {
    o.log.error(`home assistant: not started: ${error}`);
    return { status: () => ({ enabled: true, error }), close: async () => undefined };
  };
  if (!o.link) return failed('no MQTT link (see `link` in status)');
  if (!o.feed) return failed('no sensor sampler (the HAL did not open)');
  const bridge = new HaBridge({
    config: o.config,
    link: o.link,
    hal: { registry: o.hal.registry, operatorControl: (id, command, origin) => o.hal.service.operatorControl(id, command, origin) },
    feed: o.feed,
    board: { deviceId: o.deviceId, model: o.model, version: VERSION },
    stateFile: path.join(o.home, 'homeassistant.json'),
    agentsRunning: o.agentsRunning,
    clock: o.clock,
    log: o.log,
  });
  try {
    await bridge.start();
  } catch (err) {
    await bridge.close();
    return failed((err as Error).message);
  }
  return { status: () => ({ ...bridge.status() }), close: () => bridge.close() };
}
