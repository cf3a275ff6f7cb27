/**
 * The glue between the orchestrator and the daemon's infrastructure (README "MQTT, remote triggers and rules"; docs/ARCHITECTURE.md "Orchestration"): MQTT boundary events
 * in and the state projection's topics out. Used by the orchestration hub (orchestration-hub.ts), the one entry
 * point the daemon calls.
 */
import type { DeviceRegistry } from '../../hal/device-registry.ts';
import type { HalInputEdge } from '../core/hal-api.ts';
import type { JsonValue } from '../core/plugin.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import type { IncomingMessage } from '../link/incoming-dispatch.ts';
import type { EmitResult, OrchestratorEvent } from './orchestrator.ts';
import type { ProjectionPublisher } from './state-projection.ts';

/**
 * The rules' view of the hardware (GPIO edges, sensor thresholds): the daemon-side devices themselves, not an
 * agent's HAL session — rules belong to the operator, not to an agent, so no capability applies.
 */
export function registryHal(registry: DeviceRegistry): {
  watch(id: string, listener: (edge: HalInputEdge) => void): () => void;
  inputDevices(): string[];
  read(id: string, quantity: string): Promise<number>;
} {
  return {
    watch: (id, listener) => {
      const device = registry.get(id)?.device as { watch?: (l: typeof listener) => () => void } | undefined;
      if (!device?.watch) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, `device "${id}" is not an input that can be watched`);
      return device.watch(listener);
    },
    inputDevices: () => registry.list().filter((d) => d.kind === 'input' && d.device).map((d) => d.id),
    read: async (id, quantity) => {
      const device = registry.get(id)?.device as { read?: (q: string) => Promise<number> } | undefined;
      if (!device?.read) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, `device "${id}" is not a sensor`);
      return device.read(quantity);
    },
  };
}

/**
 * The projection's publisher on the link: `state` and `state/<id>` retained at QoS 1 (the link's queue keeps only
 * the latest of each while offline), `telemetry` at QoS 0 (a reading from an hour ago is noise, not a backlog).
 */
export function linkPublisher(link: () => MqttLink | undefined, log: Logger): ProjectionPublisher {
  const send = (topic: string, payload: string, retain: boolean): void => {
    const l = link();
    if (!l) return;
    try {
      l.publish(topic, payload, { retain, qos: topic === 'telemetry' ? 0 : 1 });
    } catch (err) {
      log.warn(`${topic} not published: ${(err as Error).message}`);
    }
  };
  return {
    publish: (topic, payload, { retain }) => send(topic, JSON.stringify(payload), retain),
    clearRetained: (topic) => send(topic, '', true),
  };
}

export interface InboundEventCounters {
  received: number;
  accepted: number;
  /** Not JSON: logged and dropped. (Oversized payloads never get here: the link drops and counts them.) */
  malformed: number;
  /** Refused by the orchestrator (bad name, rate limit, ...); its own stats say why. */
  refused: number;
}

/**
 * `<prefix>event/<name>` and `openstarry/all/event/<name>` (README "MQTT, remote triggers and rules") -> the orchestrator. The payload is the
 * event's JSON data; an empty payload is an event without data (`mosquitto_pub -n`).
 */
export function subscribeInboundEvents(link: MqttLink, emit: (event: OrchestratorEvent) => EmitResult, log: Logger): { counters: InboundEventCounters; close(): void } {
  const counters: InboundEventCounters = { received: 0, accepted: 0, malformed: 0, refused: 0 };
  const handle = (prefix: string) => (message: IncomingMessage) => {
    counters.received++;
    // A retained event would fire its rules again at every reconnect (the link resubscribes): an event happens once.
    if (message.retain) {
      counters.refused++;
      log.warn(`mqtt ${message.topic}: retained event ignored (events are never retained; clear it with an empty retained publish)`);
      return;
    }
    const name = message.topic.slice(prefix.length);
    let data: JsonValue | undefined;
    if (message.payload.length > 0) {
      try {
        data = JSON.parse(message.payload.toString('utf8')) as JsonValue;
      } catch (err) {
        counters.malformed++;
        log.warn(`mqtt ${message.topic}: payload is not JSON, dropped: ${(err as Error).message}`);
        return;
      }
    }
    const result = emit(data === undefined ? { name, source: 'mqtt' } : { name, data, source: 'mqtt' });
    if (result.accepted) counters.accepted++;
    else {
      counters.refused++;
      log.info(`mqtt event ${JSON.stringify(name.slice(0, 80))} refused: ${result.reason ?? 'unknown'}`);
    }
  };
  const prefix = `${link.state().topicPrefix}event/`;
  const all = 'openstarry/all/event/';
  const offOwn = link.subscribe('event/#', handle(prefix));
  const offAll = link.subscribe(`${all}#`, handle(all), { absolute: true });
  return {
    counters,
    close: () => {
      offOwn();
      offAll();
    },
  };
}
