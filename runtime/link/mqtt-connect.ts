/**
 * Creates the mqtt.js client of one connection attempt (mqtt-link.ts) without loading transports the URL does not use.
 *
 * mqtt.js's own `connect()` requires every Node transport it knows at the first call: WebSocket (the `ws` package,
 * which loads http, https, zlib and crypto) and, from its TCP and TLS builders, SOCKS proxy support (`socks`,
 * `ip-address`). A board that talks `mqtt://` or `mqtts://` — every board with the embedded broker — used none of it
 * and held ~2 MB for it (issue 12, README "Performance"). For those two schemes the client gets a stream builder over
 * `node:net` / `node:tls` here, doing what mqtt.js's tcp.js and tls.js do (same defaults, same TLS error handling).
 * Everything else — ws://, wss://, a SOCKS proxy (MQTTJS_SOCKS_PROXY), a client certificate on a plain mqtt:// URL
 * (mqtt.js upgrades it to mqtts) — goes through mqtt.js's `connect()` unchanged, which then loads what it needs.
 *
 * Only mqtt.js's client class is imported here, not its index: the index pulls `connect()` and with it the code of
 * ws, socks, ip-address and smart-buffer (~200 KB) into the daemon's boot chunk, parsed at every boot and its source
 * held for ever, even though it never runs on an mqtt:// board. A link whose URL needs mqtt.js's own connect() loads
 * it first, asynchronously (prepareMqttConnect: a chunk of its own in the bundle).
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import clientModule from 'mqtt/lib/client';
import './mqtt-packet-numbers.ts';
import type { IClientOptions, MqttClient } from 'mqtt';
import { OpenStarryError } from '../errors.ts';
import { lazyBuiltin } from '../lazy-builtin.ts';
import { LinkErrorCode } from './errors.ts';
import { connectOptions } from './mqtt-settings.ts';

/**
 * mqtt.js's client class. Its file is CommonJS with `exports.default = MqttClient`: Node's ESM import hands over the
 * whole `module.exports` as the default, a bundler honouring `__esModule` hands over the class; take whichever came.
 */
const MqttClientClass: typeof clientModule.default = clientModule.default ?? (clientModule as unknown as typeof clientModule.default);

/** mqtt.js's own connect(), once a link that needs it has loaded it (prepareMqttConnect). */
let mqttJsConnect: ((opts: IClientOptions) => MqttClient) | undefined;

/** What connectMqttClient will do for this URL: connect directly, or through mqtt.js's connect() (loaded first). */
function connectPlan(url: string, options: IClientOptions, env: NodeJS.ProcessEnv): { opts: IClientOptions; direct: boolean } {
  const opts = connectOptions(url, options);
  // mqtt.js reads this variable itself in connect(); read here from the injected environment so tests can drive it.
  if (opts.socksProxy === undefined && env.MQTTJS_SOCKS_PROXY !== undefined) opts.socksProxy = env.MQTTJS_SOCKS_PROXY;
  const plain = (opts.protocol === 'mqtt' && !(opts.cert && opts.key)) || opts.protocol === 'mqtts';
  return { opts, direct: plain && opts.socksProxy === undefined };
}

/** Loads mqtt.js's connect() (and so its WebSocket and SOCKS transports) when `url` needs it; once per process. */
export async function prepareMqttConnect(url: string, options: IClientOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (mqttJsConnect || connectPlan(url, options, env).direct) return;
  const mqtt = (await import('mqtt')).default;
  mqttJsConnect = (opts) => mqtt.connect(opts);
}

/**
 * `url` + the attempt's options -> a connecting client (mqtt.js's `connect()` contract: errors arrive as events). The
 * URL is read with WHATWG URL (connectOptions), not mqtt.js's url.parse(), deprecated at run time in Node 24.
 */
export function connectMqttClient(url: string, options: IClientOptions, env: NodeJS.ProcessEnv = process.env): MqttClient {
  const { opts, direct } = connectPlan(url, options, env);
  if (!direct) {
    if (!mqttJsConnect) throw new OpenStarryError(LinkErrorCode.CONFIG, `${opts.protocol}:// (or a SOCKS proxy) needs mqtt.js's connect(), which was not loaded: call prepareMqttConnect first`);
    return mqttJsConnect(opts);
  }
  delete opts.path;
  const client = new MqttClientClass(opts.protocol === 'mqtts' ? (c) => tlsStream(c, opts) : () => tcpStream(opts), opts);
  // As mqtt.js's connect(): an error with no listener must not throw out of the event loop; the link listens anyway.
  client.on('error', () => {});
  return client;
}

/** node:tls only when an mqtts:// link connects: loading it costs a board ~3.5 MB of RSS (measured on Node 22). */
const tlsModule = lazyBuiltin<typeof tls>('node:tls');

/** mqtt.js's connect/tcp.js without the SOCKS branch. */
function tcpStream(opts: IClientOptions): Duplex {
  return net.createConnection({ port: opts.port || 1883, host: opts.hostname || opts.host || 'localhost' });
}

/** mqtt.js's connect/tls.js without the SOCKS branch: SNI from a host name, verification on unless turned off. */
function tlsStream(client: MqttClient, opts: IClientOptions): Duplex {
  opts.port = opts.port || 8883;
  opts.host = opts.hostname || opts.host || 'localhost';
  if (net.isIP(opts.host) === 0 && !opts.servername) opts.servername = opts.host;
  opts.rejectUnauthorized = opts.rejectUnauthorized !== false;
  const connection = tlsModule().connect(opts as tls.ConnectionOptions);
  const onError = (err: Error) => {
    if (opts.rejectUnauthorized) client.emit('error', err);
    connection.end();
  };
  connection.on('secureConnect', () => {
    if (opts.rejectUnauthorized && !connection.authorized) connection.emit('error', new Error('TLS not authorized'));
    else connection.removeListener('error', onError);
  });
  connection.on('error', onError);
  return connection;
}
