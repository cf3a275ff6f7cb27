/**
 * The MQTT link to the upstream broker (README "MQTT, remote triggers and rules"; docs/ARCHITECTURE.md "MQTT link"), on mqtt.js.
 *
 * Connection: one mqtt.js client per connection attempt, with mqtt.js's own reconnect off (`reconnectPeriod: 0`)
 * and a clean session. Retries are driven by ONE guarded timer of the link (capped exponential backoff with jitter,
 * reconnect-backoff.ts; the step is reset once a connection stayed up for min(maxMs, 30 s)). A fresh client per
 * attempt means no mqtt.js offline queue or in-flight store outlives its connection: the persisted queue is the only
 * source of QoS 1 messages. Clean session, because commands queued at the broker for hours while the board was off
 * must not all fire when it comes back; every subscription is re-sent on each connect instead.
 *
 * Presence: a retained birth `{"online":true,deviceId,version,startedAt}` on `<prefix>status` after each connect, a
 * retained last will `{"online":false,...,"reason":"connection lost"}`, and on a clean stop a retained
 * `{"online":false,...,"reason":"stopped"}` before DISCONNECT (which suppresses the will).
 *
 * Outgoing: QoS 1 goes through the persisted queue (outbound-queue.ts) — stored first, sent in queue order with at
 * most `window` in flight (the broker's Receive Maximum, capped at 32), removed on PUBACK. After a reconnect the
 * un-acked ones are sent again from the head: delivery is at least once, so a message whose PUBACK was lost with the
 * connection can arrive twice, never out of order. A PUBACK with an MQTT 5 failure reason (e.g. not authorised)
 * removes the message and counts it in `rejected`: retrying it would block the queue forever. QoS 0 is sent only
 * while connected; offline it is dropped and counted.
 *
 * start() waits at most `startWaitMs` for the first connection, then returns and the link keeps trying offline.
 */
import { connectMqttClient, prepareMqttConnect } from './mqtt-connect.ts';
import type { IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import { OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { LinkErrorCode } from './errors.ts';
import { IncomingDispatch } from './incoming-dispatch.ts';
import type { MessageHandler, RawIncoming, SubscribeOptions } from './incoming-dispatch.ts';
import type { LinkState, MqttLinkOptions, MqttLinkStatus, PublishOptions, PublishOutcome } from './mqtt-link-types.ts';
import { checkTopicFilter, checkTopicName } from './mqtt-topics.ts';
import type { MqttLinkSettings } from './mqtt-settings.ts';
import { mqttClientOptions, redactUrl } from './mqtt-settings.ts';
import { OutboundQueue } from './outbound-queue.ts';
import { PublishWindow } from './publish-window.ts';
import { backoffDelay } from './reconnect-backoff.ts';

export type { LinkState, MqttLinkOptions, MqttLinkStatus, PublishOptions, PublishOutcome } from './mqtt-link-types.ts';

/**
 * What `status` shows for a connection error. An error raised by OpenSSL (e.g. the broker's alert when it requires a
 * client certificate) has a message like "808C...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert
 * certificate required:../deps/openssl/...:SSL alert number 116\n"; its `reason` and `code` say the same, readably.
 * Certificate verification errors ("self-signed certificate in certificate chain") are readable already.
 */
function connectionErrorText(err: Error): string {
  const e = err as Error & { library?: unknown; reason?: unknown; code?: unknown };
  if (typeof e.library === 'string' && typeof e.reason === 'string') return `TLS: ${e.reason}${typeof e.code === 'string' ? ` (${e.code})` : ''}`;
  return err.message;
}

export class MqttLink {
  readonly #s: MqttLinkSettings;
  readonly #o: MqttLinkOptions;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #incoming: IncomingDispatch;
  readonly #startedAt: string;
  #queue: OutboundQueue | undefined;
  #client: MqttClient | undefined;
  #gen = 0;
  #state: LinkState = 'stopped';
  #since: number;
  #lastError: string | undefined;
  #retryTimer: unknown;
  #attempt = 0;
  #connectedAt: number | undefined;
  #everConnected = false;
  /** The QoS 1 messages in flight on the current connection (publish-window.ts). */
  readonly #window: PublishWindow;
  #counters = { droppedQos0: 0, rejected: 0, reconnects: 0, delivered: 0 };
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #onConnected: (() => void) | undefined;

  constructor(options: MqttLinkOptions) {
    this.#o = options;
    this.#s = options.settings;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log;
    this.#since = this.#clock.now();
    this.#startedAt = options.startedAt ?? new Date().toISOString();
    this.#window = new PublishWindow({
      sender: () => {
        const client = this.#client;
        const queue = this.#queue;
        return this.#state !== 'connected' || client === undefined || queue === undefined ? undefined : { client, gen: this.#gen, queue };
      },
      gen: () => this.#gen,
      queue: () => this.#queue,
      publishProperties: (correlationData) => this.#corrProps(correlationData),
      refused: (err) => {
        this.#counters.rejected++;
        this.#lastError = `publish refused: ${err.message}`;
      },
      delivered: () => void this.#counters.delivered++,
    });
    this.#incoming = new IncomingDispatch({ maxIncomingBytes: this.#s.maxIncomingBytes, topicPrefix: this.#s.topicPrefix, ...(options.log ? { log: options.log } : {}) });
  }

  get topicPrefix(): string {
    return this.#s.topicPrefix;
  }

  /** Opens the queue and connects; resolves once connected or after `startWaitMs`, whichever comes first. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#closing) throw new OpenStarryError(LinkErrorCode.STOPPED, 'the MQTT link was closed');
    const prefix = this.#s.topicPrefix;
    this.#queue = await OutboundQueue.open({
      dir: this.#o.queueDir,
      maxMessages: this.#s.queue.maxMessages,
      maxBytes: this.#s.queue.maxBytes,
      overflow: this.#s.queue.overflow,
      fsyncIntervalMs: this.#s.queue.fsyncIntervalMs,
      ...(this.#s.queue.ttlMs !== undefined ? { ttlMs: this.#s.queue.ttlMs } : {}),
      coalesce: (topic) => topic === `${prefix}state` || topic.startsWith(`${prefix}state/`),
      clock: this.#clock,
      ...(this.#o.compactMinBytes !== undefined ? { compactMinBytes: this.#o.compactMinBytes } : {}),
      ...(this.#log ? { log: this.#log } : {}),
    });
    // ws://, wss:// or a SOCKS proxy: mqtt.js's own connect() is loaded now, so every attempt stays synchronous.
    if (!this.#o.connect) await prepareMqttConnect(this.#s.url);
    if (this.#closing) return;
    const connected = new Promise<void>((resolve) => (this.#onConnected = resolve));
    this.#connect();
    let timer: unknown;
    const waited = new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, this.#s.startWaitMs)));
    await Promise.race([connected, waited]);
    this.#clock.clearTimeout(timer);
    this.#onConnected = undefined;
    if (this.#state !== 'connected' && !this.#closing) {
      this.#log?.warn('mqtt: broker not reachable yet, continuing offline (QoS 1 messages are queued)', { url: redactUrl(this.#s.url), error: this.#lastError });
    }
  }

  /**
   * Publishes to `<prefix><topic>` (or `topic` itself with `absolute`). QoS 1 (the default) is stored in the
   * persisted queue and returns 'queued'; QoS 0 returns 'sent' or, offline, 'dropped'.
   */
  publish(topic: string, payload: Buffer | string, options: PublishOptions = {}): PublishOutcome {
    const queue = this.#queue;
    if (queue === undefined || this.#closing) throw new OpenStarryError(LinkErrorCode.STOPPED, 'the MQTT link is not running');
    const full = options.absolute ? topic : `${this.#s.topicPrefix}${topic}`;
    checkTopicName(full);
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    if ((options.qos ?? 1) === 0) {
      const client = this.#client;
      if (this.#state !== 'connected' || client === undefined) {
        this.#counters.droppedQos0++;
        return 'dropped';
      }
      client.publish(full, body, { qos: 0, retain: options.retain === true, ...this.#corrProps(options.correlationData) });
      this.#counters.delivered++;
      return 'sent';
    }
    queue.push(full, body, { retain: options.retain === true, ...(options.correlationData ? { correlationData: options.correlationData } : {}) });
    this.#window.schedulePump();
    return 'queued';
  }

  /** JSON convenience for publish(). */
  publishJson(topic: string, value: unknown, options: PublishOptions = {}): PublishOutcome {
    return this.publish(topic, JSON.stringify(value), options);
  }

  /**
   * Subscribes `<prefix><filter>` (or `filter` with `absolute`); the subscription is re-sent on every reconnect.
   * Returns the unsubscribe function.
   */
  subscribe<T = unknown>(filter: string, handler: MessageHandler<T>, options: SubscribeOptions<T> = {}): () => void {
    if (this.#closing) throw new OpenStarryError(LinkErrorCode.STOPPED, 'the MQTT link was closed');
    const full = options.absolute ? filter : `${this.#s.topicPrefix}${filter}`;
    checkTopicFilter(full);
    const before = this.#incoming.qosOf(full);
    const { isNew, remove } = this.#incoming.add(full, handler as MessageHandler<unknown>, options as SubscribeOptions<unknown>);
    if (isNew || this.#incoming.qosOf(full) > before) this.#sendSubscribe([{ filter: full, qos: this.#incoming.qosOf(full) }]);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      if (remove() && this.#state === 'connected') this.#client?.unsubscribe(full);
    };
  }

  state(): MqttLinkStatus {
    const status: MqttLinkStatus = {
      state: this.#state,
      url: redactUrl(this.#s.url),
      protocolVersion: this.#s.protocolVersion,
      clientId: this.#s.clientId,
      topicPrefix: this.#s.topicPrefix,
      since: this.#since,
      queue: this.#queue?.stats() ?? { queued: 0, bytes: 0, dropped: 0, coalesced: 0, expired: 0, fileBytes: 0, compactions: 0, discardedTailBytes: 0, newerRecords: 0 },
      droppedIncoming: this.#incoming.dropped,
      incoming: { ...this.#incoming.counters },
      ...this.#counters,
      subscriptions: this.#incoming.filters().length,
    };
    if (this.#lastError !== undefined) status.lastError = this.#lastError;
    return status;
  }

  /** Publishes the offline status (retained), disconnects, closes the queue. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#onConnected?.();
    await this.#starting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    this.#gen++; // every callback of the old connection is stale from here on
    if (client !== undefined) {
      if (this.#state === 'connected') {
        const offline = Buffer.from(JSON.stringify(this.#presence(false, 'stopped')));
        await this.#bounded(new Promise<void>((resolve) => client.publish(`${this.#s.topicPrefix}status`, offline, { qos: 1, retain: true }, () => resolve())));
        await this.#bounded(new Promise<void>((resolve) => client.end(false, {}, () => resolve())));
      }
      client.end(true);
    }
    this.#window.clear();
    this.#setState('stopped');
    await this.#queue?.close();
  }

  #presence(online: boolean, reason?: string): Record<string, unknown> {
    return { online, deviceId: this.#o.deviceId, version: this.#o.version, startedAt: this.#startedAt, ...(reason ? { reason } : {}) };
  }

  #connect(): void {
    if (this.#closing) return;
    const gen = ++this.#gen;
    this.#setState('connecting');
    let client: MqttClient;
    try {
      client = (this.#o.connect ?? connectMqttClient)(this.#s.url, mqttClientOptions(this.#s, Buffer.from(JSON.stringify(this.#presence(false, 'connection lost')))));
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#scheduleRetry();
      return;
    }
    this.#client = client;
    // Nagle's algorithm off (a TCP or TLS socket; a WebSocket stream has no such switch): a small publish written
    // while an earlier segment is unacknowledged would otherwise wait for the broker's delayed ACK, up to 40 ms on
    // Linux (tcp(7) TCP_NODELAY). The pump batches its own writes (one per run), so nothing is gained by Nagle.
    (client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined)?.setNoDelay?.(true);
    client.on('connect', (connack) => this.#onConnect(gen, client, connack));
    client.on('message', (topic, payload, packet) => this.#onMessage(gen, topic, payload, packet));
    client.on('error', (err) => {
      if (gen === this.#gen) this.#lastError = connectionErrorText(err);
    });
    client.on('close', () => this.#onClose(gen, client));
  }

  #onConnect(gen: number, client: MqttClient, connack: IConnackPacket): void {
    if (gen !== this.#gen) return;
    this.#connectedAt = this.#clock.now();
    if (this.#everConnected) this.#counters.reconnects++;
    this.#everConnected = true;
    this.#window.reset(connack.properties?.receiveMaximum);
    this.#setState('connected');
    this.#log?.info('mqtt: connected', { url: redactUrl(this.#s.url), queued: this.#queue?.size });
    this.#window.holdBirth(); // until its PUBACK (publish-window.ts)
    client.publish(`${this.#s.topicPrefix}status`, JSON.stringify(this.#presence(true)), { qos: 1, retain: true }, (err) => {
      if (gen !== this.#gen) return;
      if (err) this.#log?.warn('mqtt: birth message not accepted', { error: err.message });
      this.#window.releaseBirth();
    });
    this.#sendSubscribe(this.#incoming.filters());
    this.#window.pump();
    this.#onConnected?.();
  }

  #onClose(gen: number, client: MqttClient): void {
    if (gen !== this.#gen) return;
    this.#gen++;
    this.#client = undefined;
    client.removeAllListeners('message');
    client.removeAllListeners('connect');
    client.on('error', () => undefined); // a late socket error of a dead client must not become an uncaught one
    client.end(true);
    this.#window.clear();
    if (this.#closing) return;
    const stableMs = Math.min(this.#s.reconnect.maxMs, 30_000);
    if (this.#connectedAt !== undefined && this.#clock.now() - this.#connectedAt >= stableMs) this.#attempt = 0;
    if (this.#state === 'connected') this.#log?.warn('mqtt: connection lost', { error: this.#lastError });
    this.#connectedAt = undefined;
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closing || this.#retryTimer !== undefined) return;
    this.#setState('offline');
    const delay = backoffDelay(this.#attempt++, { ...this.#s.reconnect, ...(this.#o.random ? { random: this.#o.random } : {}) });
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }

  #sendSubscribe(filters: { filter: string; qos: 0 | 1 }[]): void {
    const client = this.#client;
    if (client === undefined || this.#state !== 'connected' || filters.length === 0) return;
    const gen = this.#gen;
    client.subscribe(Object.fromEntries(filters.map((f) => [f.filter, { qos: f.qos }])), (err, granted) => {
      if (gen !== this.#gen) return;
      if (err) this.#lastError = `subscribe failed: ${err.message}`;
      for (const g of granted ?? []) {
        if (g.qos === 128 || g.qos > 2) {
          this.#lastError = `subscription to ${g.topic} refused by the broker`;
          this.#log?.error('mqtt: subscription refused', { filter: g.topic });
        }
      }
    });
  }

  #corrProps(correlationData: Buffer | undefined): { properties?: IPublishPacket['properties'] } {
    return correlationData && this.#s.protocolVersion === 5 ? { properties: { correlationData } } : {};
  }

  #onMessage(gen: number, topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (gen !== this.#gen) return;
    const raw: RawIncoming = { topic, payload, retain: packet.retain, qos: packet.qos };
    const props = packet.properties;
    if (typeof props?.responseTopic === 'string') raw.responseTopic = props.responseTopic;
    if (Buffer.isBuffer(props?.correlationData)) raw.correlationData = props.correlationData;
    this.#incoming.dispatch(raw, (req, body, options) => {
      if (req.responseTopic !== undefined) {
        this.publish(req.responseTopic, body, { absolute: true, qos: options?.qos ?? 1, ...(req.correlationData ? { correlationData: req.correlationData } : {}) });
      } else if (options?.fallbackCorrelation !== undefined) {
        this.publish(`reply/${options.fallbackCorrelation}`, body, { qos: options.qos ?? 1 });
      } else {
        throw new OpenStarryError(LinkErrorCode.NO_RESPONSE_TOPIC, `the message on ${req.topic} has no response topic to reply to`);
      }
    });
  }

  #setState(state: LinkState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#since = this.#clock.now();
  }

  /** Waits for `op`, at most stopTimeoutMs. */
  async #bounded(op: Promise<void>): Promise<void> {
    let timer: unknown;
    const timeout = new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, this.#o.stopTimeoutMs ?? 2000)));
    await Promise.race([op, timeout]);
    this.#clock.clearTimeout(timer);
  }
}
