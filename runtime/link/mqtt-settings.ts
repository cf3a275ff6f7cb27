/**
 * Turns the validated `mqtt` config fragment into what the link connects with: defaults that depend on the device
 * (client id, topic prefix) and on the broker (protocol version), plus the contents of the files the config names
 * (TLS PEMs, password file), read once at start so that a missing or unreadable file fails the start with the
 * field that names it.
 */
import type { IClientOptions } from 'mqtt';
import { readFile as nodeReadFile } from 'node:fs/promises';
import { OpenStarryError } from '../errors.ts';
import { LinkErrorCode } from './errors.ts';
import type { MqttConfig } from './mqtt-config.ts';

export interface MqttLinkSettings {
  url: string;
  /** True when the link talks to the embedded broker (no `mqtt.url`). */
  embedded: boolean;
  protocolVersion: 5 | 4;
  clientId: string;
  topicPrefix: string;
  keepaliveSec: number;
  reconnect: { minMs: number; maxMs: number };
  queue: MqttConfig['queue'];
  maxIncomingBytes: number;
  startWaitMs: number;
  username?: string;
  password?: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
}

export interface ResolveOptions {
  /** The embedded broker's actual address (it may listen on port 0 in tests). Default from `embeddedBroker`. */
  embeddedUrl?: string;
  readFile?: (file: string) => Promise<Buffer>;
}

export async function resolveMqttSettings(config: MqttConfig, deviceId: string, options: ResolveOptions = {}): Promise<MqttLinkSettings> {
  const read = options.readFile ?? ((f: string) => nodeReadFile(f));
  const readField = async (field: string, file: string): Promise<Buffer> => {
    try {
      return await read(file);
    } catch (err) {
      throw new OpenStarryError(LinkErrorCode.CONFIG, `mqtt.${field}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const embedded = config.url === undefined;
  const url = config.url ?? options.embeddedUrl ?? `mqtt://${hostForUrl(config.embeddedBroker.host)}:${config.embeddedBroker.port}`;
  const settings: MqttLinkSettings = {
    url,
    embedded,
    // aedes 1.x refuses MQTT 5 CONNECTs ("unacceptable protocol version"); the schema rejects an explicit 5 there.
    protocolVersion: config.protocolVersion ?? (embedded ? 4 : 5),
    ...linkIdentity(config, deviceId),
    keepaliveSec: config.keepaliveSec,
    reconnect: { ...config.reconnect },
    queue: { ...config.queue },
    maxIncomingBytes: config.maxIncomingBytes,
    startWaitMs: config.startWaitMs,
  };
  if (config.username !== undefined) settings.username = config.username;
  if (config.password !== undefined) settings.password = config.password;
  if (config.passwordFile !== undefined) settings.password = (await readField('passwordFile', config.passwordFile)).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (config.tls !== undefined) {
    const tls: NonNullable<MqttLinkSettings['tls']> = { rejectUnauthorized: config.tls.rejectUnauthorized };
    if (config.tls.ca !== undefined) tls.ca = await readField('tls.ca', config.tls.ca);
    if (config.tls.cert !== undefined) tls.cert = await readField('tls.cert', config.tls.cert);
    if (config.tls.key !== undefined) tls.key = await readField('tls.key', config.tls.key);
    settings.tls = tls;
  }
  return settings;
}

/** The link's client id and topic prefix (their defaults depend on the device); the embedded broker reserves both. */
export function linkIdentity(config: Pick<MqttConfig, 'clientId' | 'topicPrefix'>, deviceId: string): { clientId: string; topicPrefix: string } {
  return { clientId: config.clientId ?? `openstarry-${deviceId}`, topicPrefix: config.topicPrefix ?? `openstarry/${deviceId}/` };
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The URL without credentials, for `status` and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

const MAX_PACKET = 268_435_455;

/**
 * mqtt.connect(url, options) with the URL already taken apart by the WHATWG URL API. Given a string, mqtt.js parses it
 * with the legacy url.parse(), which Node 24 deprecates at run time (DEP0169): a DeprecationWarning on the daemon's
 * stderr at every start. Given options only, mqtt.js skips its parse. Same fields and precedence as its parse: protocol,
 * host (an IPv6 address without brackets), port when the URL has one, path for ws/wss; the URL's credentials and
 * `?clientId=` win over `options`, as they do in mqtt.js.
 */
export function connectOptions(url: string, options: IClientOptions): IClientOptions {
  const u = new URL(url);
  const protocol = u.protocol.slice(0, -1) as NonNullable<IClientOptions['protocol']>;
  const address: IClientOptions = { protocol, host: u.hostname.replace(/^\[(.*)\]$/, '$1') };
  if (u.port !== '') address.port = Number(u.port);
  if (protocol === 'ws' || protocol === 'wss') address.path = `${u.pathname}${u.search}`;
  const fromUrl: IClientOptions = {};
  if (u.username !== '') fromUrl.username = decodeURIComponent(u.username);
  if (u.password !== '') fromUrl.password = decodeURIComponent(u.password);
  const clientId = u.searchParams.get('clientId');
  if (clientId !== null) fromUrl.clientId = clientId;
  return { ...address, ...options, ...fromUrl };
}

/**
 * The mqtt.js options of one connection attempt: a clean session, mqtt.js's own reconnect and resubscribe off (the
 * link drives both), the retained last will `will` on `<prefix>status`, credentials and TLS material.
 */
export function mqttClientOptions(s: MqttLinkSettings, will: Buffer): IClientOptions {
  const options: IClientOptions = {
    protocolVersion: s.protocolVersion,
    clientId: s.clientId,
    clean: true,
    keepalive: s.keepaliveSec,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    resubscribe: false,
    will: { topic: `${s.topicPrefix}status`, payload: will, qos: 1, retain: true },
  };
  // MQTT 5: ask the broker not to send packets far above the incoming limit at all (they are dropped, uncounted,
  // at the broker); those just above it still arrive and are dropped and counted by the link.
  if (s.protocolVersion === 5) options.properties = { maximumPacketSize: Math.min(MAX_PACKET, s.maxIncomingBytes * 4 + 65_536) };
  if (s.username !== undefined) options.username = s.username;
  if (s.password !== undefined) options.password = s.password;
  if (s.tls) {
    options.rejectUnauthorized = s.tls.rejectUnauthorized;
    if (s.tls.ca) options.ca = s.tls.ca;
    if (s.tls.cert) options.cert = s.tls.cert;
    if (s.tls.key) options.key = s.tls.key;
  }
  return options;
}
