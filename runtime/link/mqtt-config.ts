/**
 * The `mqtt` key of the daemon config (README "MQTT, remote triggers and rules"; docs/ARCHITECTURE.md "MQTT link"). Strict like the rest of the config: a typo
 * such as `keepAliveSec` is an error, not a silently ignored key. File paths (TLS, password file) are only
 * checked for shape here; they are read at link start (see mqtt-settings.ts) so a missing file names its field.
 *
 * Use it in the daemon schema as `mqtt: mqttConfigSchema.prefault({})`: zod 4's `.default({})` would hand back
 * `{}` unparsed, without the inner defaults.
 *
 * Defaults that depend on the device (`clientId`, `topicPrefix`) and on the broker (`protocolVersion`) are
 * resolved by `resolveMqttSettings`: the embedded broker (aedes 1.x) speaks MQTT 3.1.1 only, so with no `url`
 * the version defaults to 3.1.1 and asking for 5 is an error; with a `url` it defaults to 5.
 */
import * as z from 'zod';

/** Control-plane methods that can be allowed over MQTT (runtime/control/protocol.ts). */
export const REMOTE_METHODS = ['spawnAgent', 'killAgent', 'listAgents', 'status', 'templates.list', 'devices.list', 'logs.read', 'events.emit'] as const;

const URL_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
const MAX_TOPIC_PREFIX = 200;

const filePath = z.string().min(1, 'must be a file path');

const urlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a URL such as mqtt://broker.local:1883' });
    return;
  }
  if (!URL_PROTOCOLS.has(url.protocol)) ctx.addIssue({ code: 'custom', message: `protocol must be mqtt://, mqtts://, ws:// or wss:// (got ${url.protocol}//)` });
  if (url.hostname === '') ctx.addIssue({ code: 'custom', message: 'must name a host' });
});

/** `5`, `4`, `'5'`, `'4'`, `'3.1.1'` -> 5 | 4 (mqtt.js's protocolVersion numbers). */
const protocolVersion = z
  .union([z.literal(5), z.literal(4), z.literal('5'), z.literal('4'), z.literal('3.1.1')])
  .transform((v): 5 | 4 => (v === 5 || v === '5' ? 5 : 4));

const topicPrefix = z
  .string()
  .min(1)
  .max(MAX_TOPIC_PREFIX)
  .refine((p) => p.endsWith('/'), 'must end in "/"')
  .refine((p) => !p.includes('+') && !p.includes('#') && !p.includes('\u0000'), 'must not contain "+", "#" or NUL')
  .refine((p) => !p.startsWith('$'), 'must not start with "$" (reserved for broker topics)');

const reconnectSchema = z
  .strictObject({
    /** First retry delay; each failure doubles it (with jitter) up to maxMs. */
    minMs: z.number().int().min(100).max(600_000).default(1000),
    maxMs: z.number().int().min(100).max(3_600_000).default(60_000),
  })
  .refine((r) => r.minMs <= r.maxMs, { message: 'must not be larger than maxMs', path: ['minMs'] });

const queueSchema = z.strictObject({
  /** QoS 1 messages kept while offline (persisted under OPENSTARRY_HOME/mqtt-queue). */
  maxMessages: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Topic + payload bytes kept while offline. */
  maxBytes: z.number().int().min(1024).max(1024 * 2 ** 20).default(16 * 2 ** 20),
  /** The only policy so far: drop the oldest message that is not a retained state snapshot (see outbound-queue.ts). */
  overflow: z.literal('drop-oldest').default('drop-oldest'),
  /** fsync of the queue file at most this often: a power cut loses at most this much of accepted messages. */
  fsyncIntervalMs: z.number().int().min(0).max(60_000).default(1000),
  /** Queued messages this old are dropped at drain and compaction, counted as `expired` (Azure IoT Edge's
   * store-and-forward `timeToLiveSecs`). Default: none, messages wait for the broker however long it takes. */
  ttlMs: z.number().int().min(1000).max(366 * 86_400_000).optional(),
});

const tlsSchema = z.strictObject({
  /** PEM file of the CA(s) that signed the broker's certificate. Default: Node's built-in CA list. */
  ca: filePath.optional(),
  /** PEM client certificate (mutual TLS); needs `key`. */
  cert: filePath.optional(),
  /** PEM private key of the client certificate. */
  key: filePath.optional(),
  /** false accepts any broker certificate: for a lab only. */
  rejectUnauthorized: z.boolean().default(true),
});

/** A topic filter of `embeddedBroker.allowPublish` (MQTT 3.1.1 §4.7: `+` a whole level, `#` the whole last one). */
const topicFilter = z
  .string()
  .min(1)
  .max(MAX_TOPIC_PREFIX)
  .refine((f) => !f.includes('\u0000') && !f.startsWith('$'), 'must not contain NUL or start with "$"')
  .refine((f) => f.split('/').every((l, i, all) => (!l.includes('#') || (l === '#' && i === all.length - 1)) && (!l.includes('+') || l === '+')), '"+" must be a whole level, "#" the whole last level');

/**
 * Limits and access of the embedded broker's local clients (runtime/link/broker-policy.ts; README "MQTT, remote
 * triggers and rules"). The defaults bound what local programs can make the daemon hold to a few MiB.
 */
const embeddedBrokerSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(1883),
  /** Largest MQTT packet a local client may send (room for a maxIncomingBytes payload and its topic); larger closes it. */
  maxPacketBytes: z.number().int().min(1024).max(256 * 2 ** 20).default(264 * 1024),
  /** Local clients connected at once (the daemon's own link is not counted); also the cap on sockets without a CONNECT. */
  maxConnections: z.number().int().min(1).max(10_000).default(32),
  /** Retained messages the broker keeps (the board's own included); past either bound a new retained topic is refused. */
  retained: z
    .strictObject({
      maxMessages: z.number().int().min(1).max(1_000_000).default(1000),
      maxBytes: z.number().int().min(1024).max(1024 * 2 ** 20).default(8 * 2 ** 20),
    })
    .prefault({}),
  /** Publications per second of each local client (token bucket, burst `burst`); 0: no limit. Past it: disconnected. */
  publishRate: z
    .strictObject({
      perSecond: z.number().min(0).max(1_000_000).default(100),
      burst: z.number().int().min(1).max(1_000_000).default(500),
    })
    .prefault({}),
  /** Topic filters local clients may publish to beyond `<prefix>event/#`, `<prefix>cmd/#`, `openstarry/all/event/#`; never the rest of the prefix. */
  allowPublish: z.array(topicFilter).max(100).default([]),
  /** `username:password` lines; when set, local clients must log in as one of them (mode 0600: plain passwords). */
  usersFile: filePath.optional(),
});

export const mqttConfigSchema = z
  .strictObject({
    /** Upstream broker. Absent: the embedded broker (`embeddedBroker`) is started and the link connects to it. */
    url: urlSchema.optional(),
    protocolVersion: protocolVersion.optional(),
    tls: tlsSchema.optional(),
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** A file holding the password (first line), so it need not sit in the config. */
    passwordFile: filePath.optional(),
    /** Default `openstarry-<deviceId>`. */
    clientId: z.string().min(1).max(128).optional(),
    /** Default `openstarry/<deviceId>/`. */
    topicPrefix: topicPrefix.optional(),
    keepaliveSec: z.number().int().min(5).max(65_535).default(30),
    reconnect: reconnectSchema.prefault({}),
    queue: queueSchema.prefault({}),
    /** Incoming payloads above this are dropped and counted, never handed to a handler. */
    maxIncomingBytes: z.number().int().min(16).max(256 * 2 ** 20).default(256 * 1024),
    /** start() waits at most this long for the first connection, then boot goes on offline (queueing). */
    startWaitMs: z.number().int().min(0).max(60_000).default(2000),
    embeddedBroker: embeddedBrokerSchema.prefault({}),
    /**
     * Control-plane methods `cmd/<method>` may call (README "MQTT, remote triggers and rules"). Default: the read-only ones. Remote
     * `spawnAgent` takes template ids only, never paths; `logs.follow` (a stream) is never remote.
     */
    commands: z.array(z.enum(REMOTE_METHODS)).max(REMOTE_METHODS.length).default(['status', 'listAgents', 'templates.list', 'devices.list']),
  })
  .superRefine((c, ctx) => {
    if (c.password !== undefined && c.passwordFile !== undefined) ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give password or passwordFile, not both' });
    if (c.tls !== undefined) {
      if (c.url === undefined) ctx.addIssue({ code: 'custom', path: ['tls'], message: 'needs an mqtts:// or wss:// url (the embedded broker has no TLS)' });
      else if (!/^(mqtts|wss):/.test(c.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be mqtts:// or wss:// when tls is set' });
      if ((c.tls.cert === undefined) !== (c.tls.key === undefined)) ctx.addIssue({ code: 'custom', path: ['tls', c.tls.cert === undefined ? 'cert' : 'key'], message: 'cert and key go together' });
    }
    if (c.url === undefined && c.protocolVersion === 5) ctx.addIssue({ code: 'custom', path: ['protocolVersion'], message: 'the embedded broker speaks MQTT 3.1.1 only: use 3.1.1 or set url' });
  });

export type MqttConfig = z.output<typeof mqttConfigSchema>;
export type MqttConfigInput = z.input<typeof mqttConfigSchema>;

/** Parses a fragment; errors carry paths relative to the `mqtt` key. */
export function parseMqttConfig(input: unknown): MqttConfig {
  return mqttConfigSchema.parse(input ?? {});
}
