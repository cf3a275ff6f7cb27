/**
 * The fleet's table read from the broker (issue 16: "prints the fleet's table from the retained status topics";
 * README "Deploying updates"), for `openstarry deploy status`: a client of its own (clean session, no will, no
 * reconnect) subscribes every board's retained `deploy/status` and `deploy/groups` under the root, takes the
 * retained messages the broker sends after the SUBACK (MQTT 3.1.1 §3.3.1.3), and stops once none has come for
 * `settleMs`, or at `timeoutMs` with what it has. Loaded with import() by that command only (issue 12: what
 * `openstarry ps` loads holds no mqtt; runtime/cli/bundle.test.ts checks it).
 */
import mqtt from 'mqtt';
import type { IClientOptions } from 'mqtt';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { FleetTable, fleetFilters } from './fleet-table.ts';

export interface FleetStatusQuery {
  /** mqtt://, mqtts://, ws:// or wss:// (mqtt.js reads it). */
  broker: string;
  /** The topic root the boards' `mqtt.topicPrefix` starts with (default `openstarry`). */
  root: string;
  username?: string;
  password?: string;
  /** Connection to the last message. */
  timeoutMs: number;
  /** Quiet time after which the retained messages are taken as all sent. */
  settleMs?: number;
  clock?: Clock;
}

const DEFAULT_SETTLE_MS = 500;

/** The table of every board under the root; ERR_FLEET_BROKER_UNREACHABLE when the broker did not take the subscription in time. */
export async function readFleetTable(q: FleetStatusQuery): Promise<FleetTable> {
  const clock = q.clock ?? systemClock;
  const table = new FleetTable({ root: q.root });
  const filters = fleetFilters(q.root);
  const options: IClientOptions = {
    clientId: `openstarry-deploy-status-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: q.timeoutMs,
    ...(q.username !== undefined ? { username: q.username } : {}),
    ...(q.password !== undefined ? { password: q.password } : {}),
  };
  const unreachable = (why: string) => new OpenStarryError(ErrorCode.FLEET_BROKER_UNREACHABLE, `${q.broker}: ${why}`);
  const client = mqtt.connect(q.broker, options);
  const timers: unknown[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let subscribed = false;
      let quiet: unknown;
      timers.push(clock.setTimeout(() => (subscribed ? resolve() : reject(unreachable(`no answer within ${q.timeoutMs} ms`))), q.timeoutMs));
      const settle = () => {
        clock.clearTimeout(quiet);
        quiet = clock.setTimeout(resolve, q.settleMs ?? DEFAULT_SETTLE_MS);
        timers.push(quiet);
      };
      client.on('message', (topic, payload, packet) => {
        if (packet.retain && table.add(topic, payload)) settle();
      });
      client.on('error', (err) => reject(unreachable(err.message)));
      client.on('close', () => {
        if (!subscribed) reject(unreachable('the connection closed before the subscription was taken'));
      });
      client.on('connect', () => {
        client.subscribe({ [filters.status]: { qos: 1 }, [filters.groups]: { qos: 1 } }, (err, granted) => {
          if (err) return reject(unreachable(`subscribe: ${err.message}`));
          // SUBACK return code 0x80 (MQTT 3.1.1 §3.9.3), 0x87 and up in MQTT 5: the broker refused the filter (its ACL).
          const refused = (granted ?? []).filter((g) => g.qos >= 0x80).map((g) => g.topic);
          if (refused.length > 0) return reject(unreachable(`the broker refused the subscription to ${refused.join(', ')} (not authorised?)`));
          subscribed = true;
          settle();
        });
      });
    });
  } finally {
    for (const t of timers) clock.clearTimeout(t);
    await client.endAsync(true);
  }
  return table;
}
