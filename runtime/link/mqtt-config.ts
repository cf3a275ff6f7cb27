/**
 * The `mqtt` key of the daemon config (README "MQTT, remote triggers and rules"; docs/ARCHITECTURE.md "MQTT link"). Strict like the rest of the config: a typo
 * such as `keepAliveSec` is an error, not a silently ignored key. File paths (TLS, password file) are only
 * checked for shape here; they are read at link start (see mqtt-settings.ts) so a missing file names its field.
 *
 * Use it in the daemon schema as `mqtt: z.prefault(mqttConfigSchema(), {})`: zod 4's `z._default(..., {})` would hand back
 * `{}` unparsed, without the inner defaults. Every schema here is built on each call and not kept: the config is read
 * once, at boot (runtime/daemon/config-schema.ts says why).
 *
 * Defaults that depend on the device (`clientId`, `topicPrefix`) and on the broker (`protocolVersion`) are
 * resolved by `resolveMqttSettings`: the embedded broker (aedes 1.x) speaks MQTT 3.1.1 only, so with no `url`
 * the version defaults to 3.1.1 and asking for 5 is an error; with a `url` it defaults to 5.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';

/** Control-plane methods that can be allowed over MQTT (runtime/control/protocol.ts). */
export const REMOTE_METHODS = ['spawnAgent', 'killAgent', 'listAgents', 'status', 'templates.list', 'devices.list', 'logs.read', 'events.emit'] as const;

const URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
const MAX_TOPIC_PREFIX = 200;

const filePath = () => z.string().check(z.minLength(1, 'must be a file path'));

const urlSchema = () => z.string().check(
  z.superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a URL such as mqtt://broker.local:1883' });
      return;
    }
    if (!URL_PROTOCOLS.has(url.protocol)) ctx.addIssue({ code: 'custom', message: `protocol must be mqtt://, mqtts://, ws:// or wss:// (got ${url.protocol}//)` });
    if (url.hostname === '') ctx.addIssue({ code: 'custom', message: 'must name a host' });
  }),
);

/** `5`, `4`, `'5'`, `'4'`, `'3.1.1'` -> 5 | 4 (mqtt.js's protocolVersion numbers). */
const protocolVersion = () => z.pipe(
  z.union([z.literal(5), z.literal(4), z.literal('5'), z.literal('4'), z.literal('3.1.1')]),
  z.transform((v): 5 | 4 => (v === 5 || v === '5' ? 5 : 4)),
);

const topicPrefix = () => z.string().check(
  z.minLength(1),
  z.maxLength(MAX_TOPIC_PREFIX),
  z.refine((p) => p.endsWith('/'), 'must end in "/"'),
  z.refine((p) => !p.includes('+') && !p.includes('#') && !p.includes('\u0000'), 'must not contain "+", "#" or NUL'),
  z.refine((p) => !p.startsWith('$'), 'must not start with "$" (reserved for broker topics)'),
);

const reconnectSchema = () => z
  .strictObject({
    /** First retry delay; each failure doubles it (with jitter) up to maxMs. */
    minMs: z._default(z.int().check(z.gte(100), z.lte(600_000)), 1000),
    maxMs: z._default(z.int().check(z.gte(100), z.lte(3_600_000)), 60_000),
  })
  .check(z.refine((r) => r.minMs <= r.maxMs, { message: 'must not be larger than maxMs', path: ['minMs'] }));

const queueSchema = () => z.strictObject({
  /** QoS 1 messages kept while offline (persisted under OPENSTARRY_HOME/mqtt-queue). */
  maxMessages: z._default(z.int().check(z.gte(1), z.lte(1_000_000)), 10_000),
  /** Topic + payload bytes kept while offline. */
  maxBytes: z._default(z.int().check(z.gte(1024), z.lte(1024 * 2 ** 20)), 16 * 2 ** 20),
  /** The only policy so far: drop the oldest message that is not a retained state snapshot (see outbound-queue.ts). */
  overflow: z._default(z.literal('drop-oldest'), 'drop-oldest'),
  /** fsync of the queue file at most this often: a power cut loses at most this much of accepted messages. */
  fsyncIntervalMs: z._default(z.int().check(z.gte(0), z.lte(60_000)), 1000),
  /** Queued messages this old are dropped at drain and compaction, counted as `expired` (Azure IoT Edge's
   * store-and-forward `timeToLiveSecs`). Default: none, messages wait for the broker however long it takes. */
  ttlMs: z.optional(z.int().check(z.gte(1000), z.lte(366 * 86_400_000))),
});

const tlsSchema = () => z.strictObject({
  /** PEM file of the CA(s) that signed the broker's certificate. Default: Node's built-in CA list. */
  ca: z.optional(filePath()),
  /** PEM client certificate (mutual TLS); needs `key`. */
  cert: z.optional(filePath()),
  /** PEM private key of the client certificate. */
  key: z.optional(filePath()),
  /** false accepts any broker certificate: for a lab only. */
  rejectUnauthorized: z._default(z.boolean(), true),
});

/** A topic filter of `embeddedBroker.allowPublish` (MQTT 3.1.1 §4.7: `+` a whole level, `#` the whole last one). */
const topicFilter = () => z.string().check(
  z.minLength(1),
  z.maxLength(MAX_TOPIC_PREFIX),
  z.refine((f) => !f.includes('\u0000') && !f.startsWith('$'), 'must not contain NUL or start with "$"'),
  z.refine((f) => f.split('/').every((l, i, all) => (!l.includes('#') || (l === '#' && i === all.length - 1)) && (!l.includes('+') || l === '+')), '"+" must be a whole level, "#" the whole last level'),
);

/**
 * Limits and access of the embedded broker's local clients (runtime/link/broker-policy.ts; README "MQTT, remote
 * triggers and rules"). The defaults bound what local programs can make the daemon hold to a few MiB.
 */
const embeddedBrokerSchema = () => z.strictObject({
  host: z._default(z.string().check(z.minLength(1)), '127.0.0.1'),
  port: z._default(z.int().check(z.gte(0), z.lte(65_535)), 1883),
  /** Largest MQTT packet a local client may send (room for a maxIncomingBytes payload and its topic); larger closes it. */
  maxPacketBytes: z._default(z.int().check(z.gte(1024), z.lte(256 * 2 ** 20)), 264 * 1024),
  /** Local clients connected at once (the daemon's own link is not counted); also the cap on sockets without a CONNECT. */
  maxConnections: z._default(z.int().check(z.gte(1), z.lte(10_000)), 32),
  /** Retained messages the broker keeps (the board's own included); past either bound a new retained topic is refused. */
  retained: z.prefault(
    z.strictObject({
      maxMessages: z._default(z.int().check(z.gte(1), z.lte(1_000_000)), 1000),
      maxBytes: z._default(z.int().check(z.gte(1024), z.lte(1024 * 2 ** 20)), 8 * 2 ** 20),
    }),
    {},
  ),
  /** Publications per second of each local client (token bucket, burst `burst`); 0: no limit. Past it: disconnected. */
  publishRate: z.prefault(
    z.strictObject({
      perSecond: z._default(z.number().check(z.gte(0), z.lte(1_000_000)), 100),
      burst: z._default(z.int().check(z.gte(1), z.lte(1_000_000)), 500),
    }),
    {},
  ),
  /** Topic filters local clients may publish to beyond `<prefix>event/#`, `<prefix>cmd/#`, `openstarry/all/event/#`; never the rest of the prefix. */
  allowPublish: z._default(z.array(topicFilter()).check(z.maxLength(100)), []),
  /** `username:password` lines; when set, local clients must log in as one of them (mode 0600: plain passwords). */
  usersFile: z.optional(filePath()),
  /** mosquitto acl_file lines (`user`, `topic`, `pattern`); when set, local clients read and write only what it grants. */
  aclFile: z.optional(filePath()),
});

export const mqttConfigSchema = () => z
  .strictObject({
    /** Upstream broker. Absent: the embedded broker (`embeddedBroker`) is started and the link connects to it. */
    url: z.optional(urlSchema()),
    protocolVersion: z.optional(protocolVersion()),
    tls: z.optional(tlsSchema()),
    username: z.optional(z.string().check(z.minLength(1))),
    password: z.optional(z.string()),
    /** A file holding the password (first line), so it need not sit in the config. */
    passwordFile: z.optional(filePath()),
    /** Default `openstarry-<deviceId>`. */
    clientId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    /** Default `openstarry/<deviceId>/`. */
    topicPrefix: z.optional(topicPrefix()),
    keepaliveSec: z._default(z.int().check(z.gte(5), z.lte(65_535)), 30),
    reconnect: z.prefault(reconnectSchema(), {}),
    queue: z.prefault(queueSchema(), {}),
    /** Incoming payloads above this are dropped and counted, never handed to a handler. */
    maxIncomingBytes: z._default(z.int().check(z.gte(16), z.lte(256 * 2 ** 20)), 256 * 1024),
    /** start() waits at most this long for the first connection, then boot goes on offline (queueing). */
    startWaitMs: z._default(z.int().check(z.gte(0), z.lte(60_000)), 2000),
    embeddedBroker: z.prefault(embeddedBrokerSchema(), {}),
    /**
     * Control-plane methods `cmd/<method>` may call (README "MQTT, remote triggers and rules"). Default: the read-only ones. Remote
     * `spawnAgent` takes template ids only, never paths; `logs.follow` (a stream) is never remote.
     */
    commands: z._default(z.array(z.enum(REMOTE_METHODS)).check(z.maxLength(REMOTE_METHODS.length)), ['status', 'listAgents', 'templates.list', 'devices.list']),
  })
  .check(
    z.superRefine((c, ctx) => {
      if (c.password !== undefined && c.passwordFile !== undefined) ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give password or passwordFile, not both' });
      if (c.tls !== undefined) {
        if (c.url === undefined) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'needs an mqtts:// or wss:// url (the embedded broker has no TLS)' });
        else if (!/^(mqtts|wss):/.test(c.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be mqtts:// or wss:// when tls is set' });
        if ((c.tls.cert === undefined) !== (c.tls.key === undefined)) ctx.addIssue({ code: 'custom', path: ['tls', c.tls.cert === undefined ? 'cert' : 'key'], message: 'cert and key go together' });
      }
      if (c.url === undefined && c.protocolVersion === 5) ctx.addIssue({ code: 'custom', path: ['protocolVersion'], message: 'the embedded broker speaks MQTT 3.1.1 only: use 3.1.1 or set url' });
    }),
  );

export type MqttConfig = z.output<ReturnType<typeof mqttConfigSchema>>;
export type MqttConfigInput = z.input<ReturnType<typeof mqttConfigSchema>>;

/** Parses a fragment; errors carry paths relative to the `mqtt` key. */
export function parseMqttConfig(input: unknown): MqttConfig {
  return mqttConfigSchema().parse(input ?? {});
}
