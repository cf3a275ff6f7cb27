/**
 * The embedded broker (README "MQTT, remote triggers and rules": no `mqtt.url` -> a broker on 127.0.0.1:1883), on aedes 1.x: pure JavaScript,
 * ESM, Node >= 20, no install scripts. It exists so that a board with no upstream broker can still be triggered
 * locally (`mosquitto_pub -t openstarry/<id>/event/...`, `npx mqtt pub`) and so that the link always has a broker.
 *
 * What to know about it:
 *   - aedes 1.x speaks MQTT 3.1.0/3.1.1 only (it refuses an MQTT 5 CONNECT); the link uses 3.1.1 with it.
 *   - Persistence is aedes-persistence's in-memory default: retained messages (the board's status and state) and
 *     sessions are lost when the daemon stops. The link's own outbound queue is persisted regardless.
 *   - It listens on loopback by default. Local programs are its peers, and not trusted (README, local threat model):
 *     broker-policy.ts says what they may do, mqtt-frame-guard.ts bounds their packets, and local users can be
 *     required (`usersFile`). Binding it to another address exposes `cmd/...` to the network; `host` is
 *     configurable for a lab, and a warning is logged when it is not loopback.
 *   - aedes is imported when the broker starts, not with the daemon: a board with `mqtt.url` never loads it.
 */
import { randomBytes } from 'node:crypto';
import { readFile as nodeReadFile, stat } from 'node:fs/promises';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import './mqtt-packet-numbers.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { InfrastructurePlugin } from '../infrastructure-plugin.ts';
import { OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { BrokerGuardStatus, BrokerLimits, Refusal } from './broker-policy.ts';
import { BrokerAcl } from './broker-acl.ts';
import { BrokerPolicy } from './broker-policy.ts';
import { BrokerUsers } from './broker-users.ts';
import { LinkErrorCode } from './errors.ts';
import { MqttFrameGuard } from './mqtt-frame-guard.ts';

/** The username of the daemon's own link client; its password is generated per broker start (`ownCredentials`). */
export const DAEMON_USERNAME = 'openstarryd';

/** The defaults of `mqtt.embeddedBroker` (mqtt-config.ts), for a broker built without a config (tests). */
export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  maxPacketBytes: 264 * 1024,
  maxConnections: 32,
  retained: { maxMessages: 1000, maxBytes: 8 * 2 ** 20 },
  publishRate: { perSecond: 100, burst: 500 },
  allowPublish: [],
};

export interface EmbeddedBrokerOptions {
  host?: string;
  /** 0 picks a free port (tests); `url` then tells which. */
  port?: number;
  log?: Logger;
  /**
   * When the port is taken (a mosquitto already on the board, a second daemon on a laptop): 'skip' -> log it and
   * serve nothing (status `port-in-use`; the daemon then runs without a link rather than talk to a broker nobody
   * configured — any local user could have bound the port first); 'fail' (default) -> start() throws.
   */
  portInUse?: 'fail' | 'skip';
  limits?: BrokerLimits;
  /** The client id and topic prefix of the daemon's own link (reserved for it). Default: those of device `board`. */
  link?: { clientId: string; topicPrefix: string };
  /** `mqtt.embeddedBroker.usersFile`: read at start; a bad file fails the start naming the field and line. */
  usersFile?: string;
  /** `mqtt.embeddedBroker.aclFile` (broker-acl.ts): read at start; a bad file fails the start naming the line. */
  aclFile?: string;
  readFile?: (file: string) => Promise<Buffer>;
  clock?: Clock;
}

export interface EmbeddedBrokerStatus {
  /** `port-in-use`: another program held the port; no embedded broker runs (see `portInUse`). */
  state: 'stopped' | 'running' | 'port-in-use';
  host: string;
  port: number;
  clients: number;
  /** Retained store and refusals (broker-policy.ts); absent until started. */
  guard?: BrokerGuardStatus;
}

/**
 * aedes's MQTT 3.1.1 inbound QoS 2 window per client (packets stored awaiting PUBREL; aedes's default is 1,000). A
 * local client that withholds PUBREL pins that many packets of up to maxPacketBytes each: 16 bounds it to 4 MiB per
 * client at the default packet size, and a client past it is disconnected by aedes.
 */
const MAX_INFLIGHT_INBOUND = 16;

export class EmbeddedBroker implements InfrastructurePlugin {
  readonly name = 'embedded-broker';
  readonly #host: string;
  readonly #port: number;
  readonly #log: Logger | undefined;
  #aedes: Aedes | undefined;
  #server: net.Server | undefined;
  #boundPort: number | undefined;
  readonly #portInUse: 'fail' | 'skip';
  #skipped = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #options: EmbeddedBrokerOptions;
  readonly #password = randomBytes(32).toString('base64url');
  #policy: BrokerPolicy | undefined;
  /** Sockets that have not been accepted by a CONNECT yet, oldest first. */
  readonly #pending = new Set<net.Socket>();
  readonly #guards = new WeakMap<object, MqttFrameGuard>();
  readonly #daemonClients = new WeakSet<Client>();
  readonly #verdicts = new WeakMap<Client, { reason: Refusal; returnCode: number }>();
  /** The username each accepted local client proved (aedes keeps none; BrokerPolicy.aclUsername); the ACL is per user. */
  readonly #usernames = new WeakMap<Client, string | undefined>();
  #localClients = 0;

  constructor(options: EmbeddedBrokerOptions = {}) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 1883;
    this.#log = options.log;
    this.#portInUse = options.portInUse ?? 'fail';
    this.#options = options;
  }

  /**
   * The credential of the daemon's own link client: generated at construction, never written anywhere, so only
   * this process can prove it is the daemon (the client id alone is something any local program can send).
   */
  ownCredentials(): { username: string; password: string } {
    return { username: DAEMON_USERNAME, password: this.#password };
  }

  /** `mqtt://host:port` of the listening broker (the configured port before start). */
  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `mqtt://${host}:${this.#boundPort ?? this.#port}`;
  }

  /**
   * The users file holds passwords, plain or as hashes that can be guessed offline (README "MQTT, remote triggers and
   * rules"): like ssh with a private key, say
   * so when others may read or write it, or a group other than the daemon's own (the .deb's way is the dashboard
   * token's: 0640 root:openstarry, which the daemon's user reads through its group). A warning, not a refusal: a board
   * that worked keeps working.
   */
  async #warnIfShared(file: string): Promise<void> {
    const st = await stat(file).catch(() => undefined);
    if (st === undefined) return;
    const mode = st.mode & 0o777;
    const ownGroup = typeof process.getgid === 'function' && st.gid === process.getgid();
    if ((mode & 0o006) === 0 && ((mode & 0o060) === 0 || ownGroup)) return;
    const shown = mode.toString(8).padStart(4, '0');
    this.#log?.warn(`mqtt.embeddedBroker.usersFile ${file} may be read or written by ${(mode & 0o006) !== 0 ? 'others' : 'a group other than the daemon\'s'} (mode ${shown}): it holds the local users' passwords; make it 0600 owned by the daemon's user, or 0640 with the daemon's group`, { file, mode: shown });
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    let users: BrokerUsers | undefined;
    if (o.usersFile !== undefined) {
      const text = await this.#readConfigFile('usersFile', o.usersFile);
      users = BrokerUsers.parse(text, o.usersFile, [DAEMON_USERNAME]);
      await this.#warnIfShared(o.usersFile);
    }
    const acl = o.aclFile === undefined ? undefined : BrokerAcl.parse(await this.#readConfigFile('aclFile', o.aclFile), o.aclFile);
    if (acl !== undefined && users === undefined) this.#log?.warn('mqtt.embeddedBroker.aclFile without usersFile: no username is proven, so every local client is anonymous (its CONNECT username ignored): only the entries before the first "user" line and the patterns without %u apply', { file: o.aclFile });
    const link = o.link ?? { clientId: 'openstarry-board', topicPrefix: 'openstarry/board/' };
    const policy = new BrokerPolicy({
      limits: o.limits ?? DEFAULT_BROKER_LIMITS,
      identity: { ...link, ...this.ownCredentials() },
      clock: o.clock ?? systemClock,
      ...(users ? { users } : {}),
      ...(acl ? { acl } : {}),
      ...(this.#log ? { log: this.#log } : {}),
    });
    this.#policy = policy;
    const { Aedes } = await import('aedes');
    const aedes = await Aedes.createBroker({
      heartbeatInterval: 60_000,
      drainTimeout: 10_000,
      maxInflightInbound: MAX_INFLIGHT_INBOUND,
      preConnect: (client, packet, done) => {
        // Decided here, where the whole CONNECT (with its will) is visible; refused in authenticate, which is what
        // lets aedes answer with the CONNACK return code (MQTT 3.1.1 §3.2.2.3) instead of a silent close.
        const verdict = policy.connect({ clientId: packet.clientId, username: packet.username, password: packet.password, willTopic: packet.will?.topic, localClients: this.#localClients });
        if (verdict.ok && verdict.daemon) {
          this.#daemonClients.add(client);
          this.#guards.get(client.conn)?.lift();
        }
        if (!verdict.ok) this.#verdicts.set(client, verdict);
        else {
          this.#pending.delete(client.conn as net.Socket);
          this.#usernames.set(client, policy.aclUsername(packet.username));
        }
        done(null, true);
      },
      authenticate: (client, _username, _password, done) => {
        const refused = this.#verdicts.get(client);
        if (refused) return done(Object.assign(new Error(`refused: ${refused.reason}`), { returnCode: refused.returnCode }) as Parameters<typeof done>[0], false);
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        // client null: aedes publishing the will of a client gone from another broker instance (none here: the
        // persistence is in memory); a will was checked against the policy when its client connected.
        if (client === null) return done(null);
        const payloadBytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
        const refused = policy.publish({ daemon: this.#daemonClients.has(client), clientId: client.id, username: this.#usernames.get(client), topic: packet.topic, retain: packet.retain, payloadBytes });
        done(refused ? new Error(`publish refused (${refused}): ${packet.topic.slice(0, 120)}`) : null);
      },
      // aedes asks before each delivery to a client — live, retained on subscribe, and a persistent session's queue
      // at its return (embedded-broker-guard.test.ts checks all three): null drops it for that client. Only with an ACL.
      ...(policy.checksDeliveries
        ? {
            authorizeForward: (client: Client, packet: AedesPublishPacket) =>
              this.#daemonClients.has(client) || policy.deliver({ id: client.id, username: this.#usernames.get(client) }, packet.topic) ? packet : null,
          }
        : {}),
    });
    aedes.on('client', (client) => {
      if (!this.#daemonClients.has(client)) this.#localClients += 1;
    });
    aedes.on('clientDisconnect', (client) => {
      if (!this.#daemonClients.has(client)) this.#localClients -= 1;
    });
    aedes.on('clientError', (client, err) => this.#log?.debug('embedded broker: client error', { client: client.id, error: err.message }));
    const server = net.createServer((socket) => this.#accept(aedes, policy, socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#port, this.#host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && this.#portInUse === 'skip') {
        this.#skipped = true;
        this.#log?.warn(`embedded MQTT broker not started: ${this.#host}:${this.#port} is in use by another program; running without MQTT (set mqtt.url to use the broker there)`);
        return;
      }
      const why = code === 'EADDRINUSE' ? 'the port is in use (another broker? set mqtt.url to use it, or mqtt.embeddedBroker.port)' : (err as Error).message;
      throw new OpenStarryError(LinkErrorCode.BROKER_LISTEN, `embedded MQTT broker cannot listen on ${this.#host}:${this.#port}: ${why}`, { cause: err });
    }
    server.on('error', (err) => this.#log?.error('embedded broker: server error', { error: err.message }));
    this.#aedes = aedes;
    this.#server = server;
    this.#boundPort = (server.address() as AddressInfo).port;
    if (!['127.0.0.1', '::1', 'localhost'].includes(this.#host)) this.#log?.warn(`embedded broker listens beyond loopback${users ? '' : ', without authentication (mqtt.embeddedBroker.usersFile)'}`, { host: this.#host });
    this.#log?.info('embedded MQTT broker listening', { url: this.url });
  }

  /** One of the broker's own files (`usersFile`, `aclFile`), as text; unreadable fails the start naming it. */
  async #readConfigFile(field: 'usersFile' | 'aclFile', file: string): Promise<string> {
    try {
      return (await (this.#options.readFile ?? nodeReadFile)(file)).toString('utf8');
    } catch (err) {
      throw new OpenStarryError(LinkErrorCode.CONFIG, `mqtt.embeddedBroker.${field}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * A new TCP connection. Until its CONNECT is accepted it counts as pending; past maxConnections pending ones the
   * oldest is closed (one that has held a slot longest without a CONNECT), so idle sockets cannot keep the daemon's
   * own link from reconnecting. Every byte read goes through the packet-size guard before aedes's parser sees it:
   * Readable's `data` event fires inside the `read()` aedes calls, before it hands the chunk to its parser.
   */
  #accept(aedes: Aedes, policy: BrokerPolicy, socket: net.Socket): void {
    this.#pending.add(socket);
    socket.once('close', () => this.#pending.delete(socket));
    if (this.#pending.size > policy.limits.maxConnections) {
      const oldest = this.#pending.values().next().value as net.Socket;
      this.#pending.delete(oldest);
      policy.refused('connections', { why: `more than ${policy.limits.maxConnections} connections without a CONNECT; the oldest closed` });
      oldest.destroy();
    }
    aedes.handle(socket);
    const guard = new MqttFrameGuard(policy.limits.maxPacketBytes);
    this.#guards.set(socket, guard);
    socket.on('data', (chunk: Buffer) => {
      const size = guard.feed(chunk);
      if (size === undefined || socket.destroyed) return;
      policy.refused('packetTooLarge', { size: Number.isNaN(size) ? 'malformed length' : size, max: policy.limits.maxPacketBytes, from: `${socket.remoteAddress}:${socket.remotePort}` });
      socket.destroy();
    });
  }

  /** Disconnects every client and stops listening. Idempotent; a no-op before start. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    const aedes = this.#aedes;
    const server = this.#server;
    this.#aedes = undefined;
    this.#server = undefined;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  status(): EmbeddedBrokerStatus {
    const status: EmbeddedBrokerStatus = { state: this.#aedes ? 'running' : this.#skipped ? 'port-in-use' : 'stopped', host: this.#host, port: this.#boundPort ?? this.#port, clients: this.#aedes?.connectedClients ?? 0 };
    if (this.#policy) status.guard = this.#policy.status();
    return status;
  }
}
