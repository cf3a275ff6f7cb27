/**
 * The MQTT link as an infrastructure plugin (spec 002 phase 1.2; docs/ARCHITECTURE.md "Boot sequence": state DB, embedded broker,
 * MQTT link, dashboard). `createMqttInfrastructure` returns the plugins in start order: the embedded broker
 * first when `mqtt.url` is absent, then the link — so the daemon stops the link (publishing its offline status)
 * before the broker goes away.
 */
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { InfrastructurePlugin } from '../infrastructure-plugin.ts';
import { OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { EmbeddedBroker } from './embedded-broker.ts';
import { LinkErrorCode } from './errors.ts';
import type { MqttConfig } from './mqtt-config.ts';
import { MqttLink } from './mqtt-link.ts';
import type { MqttLinkStatus } from './mqtt-link.ts';
import { linkIdentity, resolveMqttSettings } from './mqtt-settings.ts';
import { splitHostPort } from '../validation.ts';

export interface MqttLinkPluginOptions {
  config: MqttConfig;
  deviceId: string;
  version: string;
  /** OPENSTARRY_HOME: the queue lives in `<home>/mqtt-queue`. */
  home: string;
  /** The embedded broker to connect to when `config.url` is absent (its actual URL is read at start). */
  broker?: EmbeddedBroker;
  log?: Logger;
  clock?: Clock;
}

export class MqttLinkPlugin implements InfrastructurePlugin {
  readonly name = 'mqtt-link';
  readonly #o: MqttLinkPluginOptions;
  #link: MqttLink | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: MqttLinkPluginOptions) {
    this.#o = options;
  }

  /** Resolves the settings (reads TLS/password files: a missing one fails the boot, naming the field) and connects. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#o;
    // The embedded broker could not take its port: no link to a broker nobody configured (status says why).
    if (o.config.url === undefined && o.broker?.status().state === 'port-in-use') return;
    const embeddedUrl = o.config.url === undefined ? o.broker?.url : undefined;
    const settings = await resolveMqttSettings(o.config, o.deviceId, embeddedUrl !== undefined ? { embeddedUrl } : {});
    // The embedded broker knows the daemon's link by this per-boot credential (broker-policy.ts), not by its id.
    if (o.config.url === undefined && o.broker) Object.assign(settings, o.broker.ownCredentials());
    const link = new MqttLink({
      settings,
      deviceId: o.deviceId,
      version: o.version,
      queueDir: path.join(o.home, 'mqtt-queue'),
      ...(o.log ? { log: o.log } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
    });
    this.#link = link;
    await link.start();
  }

  /** The running link (publish/subscribe). Throws ERR_LINK_STOPPED before start(). */
  get link(): MqttLink {
    if (this.#link === undefined) throw new OpenStarryError(LinkErrorCode.STOPPED, 'the MQTT link has not started');
    return this.#link;
  }

  /** The running link, or undefined (not started, or no broker to link to). */
  get running(): MqttLink | undefined {
    return this.#link;
  }

  /** For `openstarry status`; undefined before start. */
  status(): MqttLinkStatus | undefined {
    return this.#link?.state();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => undefined);
      await this.#link?.close();
    })();
    return this.#stopping;
  }
}

/** The MQTT infrastructure plugins for a config, in start order. */
export interface MqttInfrastructure {
  plugins: InfrastructurePlugin[];
  link: MqttLinkPlugin;
  broker?: EmbeddedBroker;
}

/** What `openstarry status` shows as `link`: the link's own state, or `absent` and why; the embedded broker beside. */
export function mqttStatus(mqtt: MqttInfrastructure | undefined): { state: string; lastError?: string; broker?: ReturnType<EmbeddedBroker['status']> } & Record<string, unknown> {
  const link = mqtt?.link.status();
  const broker = mqtt?.broker?.status();
  if (link) return { ...link, ...(broker ? { broker } : {}) };
  const why = broker?.state === 'port-in-use' ? { lastError: `the embedded broker's port ${broker.host}:${broker.port} is taken by another program; set mqtt.url to use that broker` } : {};
  return { state: 'absent', ...why, ...(broker ? { broker } : {}) };
}

/**
 * `OPENSTARRY_EMBEDDED_BROKER=HOST:PORT` moves the embedded broker (port 0: any free one) without a config file:
 * for several daemons on one machine (development, the e2e tests). Ignored when mqtt.url is set.
 */
export function embeddedBrokerOverride(config: MqttConfig, value: string | undefined): MqttConfig {
  if (!value || config.url !== undefined) return config;
  const hp = splitHostPort(value);
  if (!hp?.host) throw new OpenStarryError(LinkErrorCode.CONFIG, `OPENSTARRY_EMBEDDED_BROKER must be HOST:PORT, not "${value}"`);
  return { ...config, embeddedBroker: { ...config.embeddedBroker, host: hp.host, port: hp.port } };
}

export function createMqttInfrastructure(
  options: Omit<MqttLinkPluginOptions, 'broker'> & { portInUse?: 'fail' | 'skip' },
): MqttInfrastructure {
  if (options.config.url !== undefined) {
    const link = new MqttLinkPlugin(options);
    return { plugins: [link], link };
  }
  const { host, port, usersFile, aclFile, ...limits } = options.config.embeddedBroker;
  const broker = new EmbeddedBroker({
    host,
    port,
    limits,
    link: linkIdentity(options.config, options.deviceId),
    portInUse: options.portInUse ?? 'fail',
    ...(usersFile !== undefined ? { usersFile } : {}),
    ...(aclFile !== undefined ? { aclFile } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.log ? { log: options.log.child('broker') } : {}),
  });
  const link = new MqttLinkPlugin({ ...options, broker });
  return { plugins: [broker, link], link, broker };
}
