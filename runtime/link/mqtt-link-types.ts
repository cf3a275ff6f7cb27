/** The MQTT link's public shapes (mqtt-link.ts): options, publish options and outcomes, and what `status` shows. */
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import type { IncomingCounters } from './incoming-dispatch.ts';
import type { MqttLinkSettings } from './mqtt-settings.ts';
import type { OutboundQueueStats } from './outbound-queue.ts';

export type LinkState = 'connecting' | 'connected' | 'offline' | 'stopped';

/** What `openstarry status` shows for the link. */
export interface MqttLinkStatus {
  state: LinkState;
  url: string;
  protocolVersion: 5 | 4;
  clientId: string;
  topicPrefix: string;
  /** clock time (ms) the state was entered. */
  since: number;
  lastError?: string;
  queue: OutboundQueueStats;
  /** Incoming messages dropped: oversized + malformed. */
  droppedIncoming: number;
  incoming: IncomingCounters;
  /** QoS 0 messages dropped because the link was offline. */
  droppedQos0: number;
  /** QoS 1 messages the broker refused with an MQTT 5 reason code (removed from the queue). */
  rejected: number;
  /** Connections re-established after a loss. */
  reconnects: number;
  /** Messages sent: QoS 1 ones the broker acknowledged (PUBACK), QoS 0 ones written to a connected link. */
  delivered: number;
  subscriptions: number;
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
  /** `topic` is a full topic (e.g. `openstarry/all/...`), not relative to the prefix. */
  absolute?: boolean;
  /** MQTT 5 correlation data (sent only on MQTT 5). */
  correlationData?: Buffer;
}

export type PublishOutcome = 'queued' | 'sent' | 'dropped';

export interface MqttLinkOptions {
  settings: MqttLinkSettings;
  deviceId: string;
  version: string;
  /** Directory of the persisted outbound queue, e.g. `$OPENSTARRY_HOME/mqtt-queue`. */
  queueDir: string;
  /** Shown in the birth message. Default: now. */
  startedAt?: string;
  clock?: Clock;
  random?: () => number;
  log?: Logger;
  /** mqtt.js's connect, injected for tests. */
  connect?: (url: string, options: IClientOptions) => MqttClient;
  /** How long close() waits for the offline status PUBACK and the DISCONNECT. Default 2000 ms. */
  stopTimeoutMs?: number;
  /** Queue compaction threshold (tests). */
  compactMinBytes?: number;
}
