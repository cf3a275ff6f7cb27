/**
 * Home Assistant MQTT discovery (README "Home Assistant"; issue 15): the board's devices appear in Home Assistant as one
 * device with a sensor per quantity, a binary sensor per input, a switch per relay, and the board's own entities.
 *
 * start():
 *   1. builds the entities (discovery.ts) from the HAL's devices;
 *   2. clears the configs of entities gone since the last run (empty retained payload; published-configs.ts), then
 *      publishes every config, retained, QoS 1 through the link's persisted queue (so a board that boots offline
 *      announces itself when the broker comes);
 *   3. subscribes the relays' command topics and Home Assistant's own status topic through the link (the link
 *      resubscribes after a reconnect);
 *   4. follows states: sensor samples from the injected SensorFeed, input edges from the devices' watch(), relays
 *      after each command and at each interval, the board's entities at each interval (state-throttle.ts).
 * A command is `ON` or `OFF` on `cmd/ha/<id>`; it goes through HalService.operatorControl() (envelope, rate limit,
 * refused while an agent owns the actuator: ERR_DEVICE_BUSY, logged and counted there) and is counted here too.
 * Retained, oversized or unknown payloads are refused and counted as malformed, never acted on.
 * close() stops all of that (idempotent); the configs stay retained: the link's offline status makes the entities
 * unavailable.
 */
import type { Clock } from '../clock.ts';
import { every } from '../clock.ts';
import { TokenBucket } from '../core/token-bucket.ts';
import type { Repeating } from '../clock.ts';
import type { HalService } from '../../hal/hal-service.ts';
import type { IncomingMessage } from '../link/incoming-dispatch.ts';
import type { MqttLink } from '../link/mqtt-link.ts';
import type { Logger } from '../logging/logger.ts';
import type { HomeAssistantConfig } from './config.ts';
import type { HaBoardInfo, HaDeviceInfo, HaEntity } from './discovery.ts';
import { COMMAND_FILTER, discoveryEntities, formatNumber, OFF, ON, onOff } from './discovery.ts';
import { PublishedConfigs, reconcile } from './published-configs.ts';
import type { PublishedTopics } from './published-configs.ts';
import { StateThrottle } from './state-throttle.ts';

/** One reading of a sensor's quantities (s21-page's hal/sensor-sampler.ts has the same shape). */
export interface SensorSample {
  deviceId: string;
  values: Record<string, number>;
  at: number;
}

/** Where sensor readings come from: the daemon's sensor sampler, injected. */
export interface SensorFeed {
  onSample(fn: (sample: SensorSample) => void): () => void;
}

export type HaLink = Pick<MqttLink, 'topicPrefix' | 'publish' | 'subscribe' | 'state'>;
export type HaHal = Pick<HalService, 'registry' | 'operatorControl'>;

/** What `openstarry status --json` shows as `homeassistant`. */
export interface HomeAssistantStatus {
  enabled: true;
  prefix: string;
  entities: number;
  configs: { published: number; removed: number };
  states: { published: number; dropped: number };
  commands: { received: number; applied: number; refused: number; malformed: number };
  lastRefusal?: string;
  lastError?: string;
}

export interface HaBridgeOptions {
  config: HomeAssistantConfig;
  link: HaLink;
  hal: HaHal;
  feed: SensorFeed;
  board: Omit<HaBoardInfo, 'linkPrefix' | 'discoveryPrefix'>;
  /** The record of published config topics, e.g. `$OPENSTARRY_HOME/homeassistant.json`. */
  stateFile: string;
  /** Agents in state `running`, for the board's entity. */
  agentsRunning: () => number;
  clock: Clock;
  log: Logger;
}

/** A command payload is `ON` or `OFF`; anything longer is refused before it is decoded. */
const MAX_COMMAND_BYTES = 16;
/**
 * Home Assistant's `online` makes every config go out again, at most this often: anyone on the broker can publish
 * it, and each one would put a config per entity into the link's queue.
 */
export const REANNOUNCE_MIN_GAP_MS = 30_000;
/** Malformed commands are logged at most this often (a burst of 10, then one a second): a flood must not flood the log. */
const LOG_PER_SECOND = 1;
const LOG_BURST = 10;
const BOARD_OWNER = '_board';

export class HaBridge {
  readonly #o: HaBridgeOptions;
  readonly #entities: HaEntity[];
  readonly #switches = new Map<string, HaEntity>();
  readonly #throttle: StateThrottle;
  readonly #stops: (() => void)[] = [];
  #tick: Repeating | undefined;
  #started: Promise<void> | undefined;
  #closed = false;
  readonly #counters = { configsPublished: 0, configsRemoved: 0, statesPublished: 0, statesDropped: 0, received: 0, applied: 0, refused: 0, malformed: 0 };
  #lastRefusal: string | undefined;
  #lastError: string | undefined;
  #announcedAt = -Infinity;
  readonly #logBudget: TokenBucket;

  constructor(options: HaBridgeOptions) {
    this.#o = options;
    const devices = deviceInfos(options.hal);
    this.#entities = discoveryEntities({ ...options.board, linkPrefix: options.link.topicPrefix, discoveryPrefix: options.config.prefix }, devices);
    for (const e of this.#entities) if (e.component === 'switch' && e.deviceId !== undefined) this.#switches.set(e.deviceId, e);
    this.#logBudget = new TokenBucket(LOG_PER_SECOND, LOG_BURST, options.clock);
    this.#throttle = new StateThrottle({ clock: options.clock, intervalMs: options.config.intervalMs, send: (topic, payload) => this.#publish(topic, payload) });
  }

  get entities(): readonly HaEntity[] {
    return this.#entities;
  }

  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const { link, log, config } = this.#o;
    await this.#announce();
    if (this.#closed) return;
    this.#stops.push(link.subscribe(COMMAND_FILTER, (m) => this.#onCommand(m), { qos: 1 }));
    // Home Assistant publishes `online` on `<prefix>/status` when it starts ("MQTT Discovery", birth message): the
    // configs are retained already, but a broker that lost them (restarted without persistence) gets them again.
    this.#stops.push(link.subscribe(`${config.prefix}/status`, (m) => this.#onHomeAssistantStatus(m), { absolute: true }));
    for (const d of this.#o.hal.registry.list()) {
      const device = d.device;
      if (device?.kind !== 'input') continue;
      const topic = this.#entities.find((e) => e.source.type === 'input' && e.source.deviceId === d.id)?.stateTopic;
      if (!topic) continue;
      this.#stops.push(device.watch((edge) => this.#throttle.changed(topic, edge.value === 1 ? ON : OFF)));
    }
    this.#stops.push(this.#o.feed.onSample((s) => this.#onSample(s)));
    this.#refresh();
    this.#tick = every(this.#o.clock, config.intervalMs, () => {
      this.#refresh();
      this.#throttle.flush();
    }, { unref: true });
    log.info(`home assistant: ${this.#entities.length} entities announced under ${config.prefix}/`, { removed: this.#counters.configsRemoved });
  }

  /** Clears the configs gone since the last run, publishes every current one, and records them. */
  async #announce(): Promise<void> {
    const { log, stateFile } = this.#o;
    this.#announcedAt = this.#o.clock.now();
    const record = new PublishedConfigs(stateFile);
    const previous = await record.read().catch((err: Error) => ({ topics: {}, problem: err.message }));
    if (previous.problem) log.warn(`home assistant: published-configs record ignored: ${previous.problem}`);
    const current: PublishedTopics = {};
    for (const e of this.#entities) (current[e.deviceId ?? BOARD_OWNER] ??= []).push(e.configTopic);
    const failed = new Set(this.#o.hal.registry.list().filter((d) => !d.device).map((d) => d.id));
    const { stale, record: next } = reconcile(previous.topics, current, failed);
    for (const topic of stale) {
      if (this.#publish(topic, '', true)) this.#counters.configsRemoved++;
    }
    for (const e of this.#entities) {
      if (this.#publish(e.configTopic, JSON.stringify(e.config), true)) this.#counters.configsPublished++;
    }
    await record.write(next).catch((err: Error) => {
      this.#lastError = `published-configs record not written: ${err.message}`;
      log.warn(`home assistant: ${this.#lastError}`);
    });
  }

  /** Relays (switched by anyone: an agent, the page, us) and the board's entities, read now. */
  #refresh(): void {
    const registry = this.#o.hal.registry;
    for (const e of this.#entities) {
      const s = e.source;
      if (s.type === 'relay' || s.type === 'input') {
        const state = onOff(registry.get(s.deviceId)?.device?.status().value);
        if (state !== undefined) this.#throttle.changed(e.stateTopic, state);
      } else if (s.type === 'board') {
        const link = this.#o.link.state();
        if (s.what === 'link') {
          // Only ON is ever sent: an OFF queued while offline would reach Home Assistant after the reconnect, when
          // it is no longer true. While the link is down the entities are unavailable (the retained status).
          if (link.state === 'connected') this.#throttle.changed(e.stateTopic, ON);
          continue;
        }
        this.#throttle.measured(e.stateTopic, s.what === 'agents_running' ? String(this.#o.agentsRunning()) : String(link.queue.queued));
      }
    }
  }

  #onSample(sample: SensorSample): void {
    for (const e of this.#entities) {
      const s = e.source;
      if (s.type !== 'quantity' || s.deviceId !== sample.deviceId) continue;
      const v = sample.values[s.quantity];
      const text = typeof v === 'number' ? formatNumber(v) : undefined;
      if (text !== undefined) this.#throttle.measured(e.stateTopic, text);
    }
  }

  async #onCommand(m: IncomingMessage): Promise<void> {
    this.#counters.received++;
    const id = (m.relativeTopic ?? '').slice('cmd/ha/'.length);
    const malformed = (why: string): void => {
      this.#counters.malformed++;
      if (this.#logBudget.take()) this.#o.log.warn(`home assistant: command on ${m.topic.slice(0, 200)} refused: ${why}`, { malformedSoFar: this.#counters.malformed });
    };
    // A retained command would switch the relay again at every reconnect (the link resubscribes): never act on one.
    if (m.retain) return malformed('retained (commands are never retained; clear it with an empty retained publish)');
    if (m.payload.length > MAX_COMMAND_BYTES) return malformed(`${m.payload.length} bytes (a command is ON or OFF)`);
    const text = m.payload.toString('latin1');
    if (text !== ON && text !== OFF) return malformed(`payload ${JSON.stringify(text)} is not ON or OFF`);
    const entity = this.#switches.get(id);
    if (!entity) return malformed(`no switch "${id.slice(0, 64)}" on this board`);
    try {
      await this.#o.hal.operatorControl(id, text === ON ? 'on' : 'off', 'homeassistant');
      this.#counters.applied++;
    } catch (err) {
      // Logged and counted by the HAL too (operatorStats); here for `status`'s homeassistant section.
      this.#counters.refused++;
      const e = err as Error & { code?: string };
      this.#lastRefusal = `${id} ${text}: ${e.code ? `${e.code}: ` : ''}${e.message}`;
    }
    // The state topic follows the relay, applied or not, so Home Assistant shows what the load really does.
    const state = onOff(this.#o.hal.registry.get(id)?.device?.status().value);
    if (state !== undefined) this.#throttle.changed(entity.stateTopic, state);
  }

  #onHomeAssistantStatus(m: IncomingMessage): void {
    if (m.payload.toString('latin1') !== 'online' || this.#closed) return;
    const now = this.#o.clock.now();
    if (now - this.#announcedAt < REANNOUNCE_MIN_GAP_MS) return;
    this.#announcedAt = now;
    for (const e of this.#entities) {
      if (this.#publish(e.configTopic, JSON.stringify(e.config), true)) this.#counters.configsPublished++;
    }
    this.#throttle.resendAll();
  }

  /** QoS 1, retained, absolute topic; false (counted) when the link refused it (stopped, bad topic). */
  #publish(topic: string, payload: string, isConfig = false): boolean {
    if (this.#closed) return false;
    try {
      this.#o.link.publish(topic, payload, { absolute: true, retain: true, qos: 1 });
      if (!isConfig) this.#counters.statesPublished++;
      return true;
    } catch (err) {
      if (!isConfig) this.#counters.statesDropped++;
      this.#lastError = `publish to ${topic}: ${(err as Error).message}`;
      return false;
    }
  }

  status(): HomeAssistantStatus {
    const c = this.#counters;
    return {
      enabled: true,
      prefix: this.#o.config.prefix,
      entities: this.#entities.length,
      configs: { published: c.configsPublished, removed: c.configsRemoved },
      states: { published: c.statesPublished, dropped: c.statesDropped },
      commands: { received: c.received, applied: c.applied, refused: c.refused, malformed: c.malformed },
      ...(this.#lastRefusal !== undefined ? { lastRefusal: this.#lastRefusal } : {}),
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
    };
  }

  /** Stops commands, watches, samples and the interval. Idempotent; the retained configs stay. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#started?.catch(() => undefined);
    this.#tick?.stop();
    this.#throttle.close();
    for (const stop of this.#stops.splice(0)) stop();
  }
}

/** The HAL's working devices as discovery.ts takes them. */
function deviceInfos(hal: HaHal): HaDeviceInfo[] {
  const out: HaDeviceInfo[] = [];
  for (const d of hal.registry.list()) {
    const device = d.device;
    if (!device) continue;
    if (device.kind === 'sensor') out.push({ id: d.id, kind: d.kind, driver: d.driver, quantities: device.quantities });
    else if (device.kind === 'actuator') out.push({ id: d.id, kind: d.kind, driver: d.driver, commands: device.envelope.commands ?? [] });
    else out.push({ id: d.id, kind: d.kind, driver: d.driver });
  }
  return out;
}
