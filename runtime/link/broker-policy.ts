/**
 * What local clients of the embedded broker may do (README "MQTT, remote triggers and rules", local threat model):
 * the decisions behind aedes's preConnect/authenticate/authorizePublish hooks, kept apart from aedes so that they
 * can be driven directly, with the counters `openstarry status` shows as `link.broker.guard`.
 *
 *   - The daemon's own link client is recognised by its client id AND a per-boot secret the broker generates for
 *     it (never by the id alone, which any local program can send): it may publish anywhere, its packets have no
 *     size limit, its retained messages are never refused, and it does not count against `maxConnections`.
 *   - Its client id is reserved: another CONNECT with it is refused (CONNACK 2, identifier rejected), so it cannot
 *     take over the daemon's session (MQTT 3.1.1 §3.1.4: the server would otherwise disconnect the existing client).
 *   - Under the board's topic prefix a local client may publish only to `event/...` and `cmd/...` (what the board
 *     takes in); elsewhere only to `openstarry/all/event/...` and what `allowPublish` opens. `allowPublish` never
 *     opens the prefix: the board's `status`, `state/...` and replies are the daemon's to write. A will message is
 *     a publish too: one on a topic the client may not publish to refuses the CONNECT.
 *   - With an ACL (`aclFile`, broker-acl.ts) a local client may also publish, and have its will, only where the ACL
 *     lets it write, and receives only messages on topics it lets it read (`deliver`, counted as `read`).
 *   - Each local client's publications go through a token bucket (`publishRate`), and retained messages are
 *     bounded in count and bytes: past the bound a new retained topic is refused (one already stored may be
 *     replaced if the bytes still fit); the board's own are accounted but never refused or evicted.
 * MQTT 3.1.1 has no way to refuse one PUBLISH (§3.3.5: acknowledge it or close the connection): a refused publish
 * closes the offender's connection, as aedes does when authorizePublish fails.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import { KeyedTokenBuckets } from '../core/token-bucket.ts';
import type { AclClient, BrokerAcl } from './broker-acl.ts';
import type { BrokerUsers } from './broker-users.ts';
import { digest } from './broker-users.ts';
import { timingSafeEqual } from 'node:crypto';
import { topicMatches } from './mqtt-topics.ts';
import type { BrokerGuardStatus, Refusal } from '../control/service-status.ts';

export interface BrokerLimits {
  maxPacketBytes: number;
  maxConnections: number;
  retained: { maxMessages: number; maxBytes: number };
  /** perSecond 0: no limit. */
  publishRate: { perSecond: number; burst: number };
  allowPublish: readonly string[];
}

/** Who the daemon's own link client is: the id and prefix it uses, and the credential it proves itself with. */
export interface BrokerIdentity {
  clientId: string;
  topicPrefix: string;
  username: string;
  password: string;
}

export type { BrokerGuardStatus, Refusal } from '../control/service-status.ts';

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
const CONNACK = { clientId: 2, connections: 3, credentials: 4, topic: 5 } as const;

export type ConnectVerdict = { ok: true; daemon: boolean } | { ok: false; reason: 'clientId' | 'connections' | 'credentials' | 'topic'; returnCode: number };

/** `openstarry/all/event/<name>` (README "MQTT, remote triggers and rules") reaches every board: a local program may raise such an event too. */
const SHARED_EVENTS = 'openstarry/all/event/#';
const LOG_PER_SECOND = 1;
const LOG_BURST = 5;

export class BrokerPolicy {
  readonly limits: BrokerLimits;
  readonly #identity: BrokerIdentity;
  readonly #secret: Buffer;
  readonly #users: BrokerUsers | undefined;
  readonly #acl: BrokerAcl | undefined;
  readonly #log: Logger | undefined;
  readonly #rate: KeyedTokenBuckets;
  readonly #logBudget: KeyedTokenBuckets;
  readonly #retained = new Map<string, number>();
  #retainedBytes = 0;
  readonly #refused: Record<Refusal, number> = { packetTooLarge: 0, connections: 0, clientId: 0, credentials: 0, topic: 0, rate: 0, retained: 0, read: 0 };

  constructor(o: { limits: BrokerLimits; identity: BrokerIdentity; users?: BrokerUsers; acl?: BrokerAcl; clock: Clock; log?: Logger }) {
    this.limits = o.limits;
    this.#identity = o.identity;
    this.#secret = digest(o.identity.password);
    this.#users = o.users;
    this.#acl = o.acl;
    this.#log = o.log;
    this.#rate = new KeyedTokenBuckets(o.limits.publishRate.perSecond, o.limits.publishRate.burst, o.clock);
    this.#logBudget = new KeyedTokenBuckets(LOG_PER_SECOND, LOG_BURST, o.clock);
  }

  /** The daemon's own client: its id and its per-boot credential, both. */
  isDaemon(clientId: string, username: string | undefined, password: Buffer | undefined): boolean {
    if (clientId !== this.#identity.clientId || username !== this.#identity.username || password === undefined) return false;
    return timingSafeEqual(digest(password), this.#secret);
  }

  /** A CONNECT; `localClients` is how many local (non-daemon) clients are connected now. */
  connect(c: { clientId: string; username?: string | undefined; password?: Buffer | undefined; willTopic?: string | undefined; localClients: number }): ConnectVerdict {
    if (this.isDaemon(c.clientId, c.username, c.password)) return { ok: true, daemon: true };
    const refuse = (reason: 'clientId' | 'connections' | 'credentials' | 'topic', detail: Record<string, unknown>): ConnectVerdict => {
      this.refused(reason, { client: c.clientId, ...detail });
      return { ok: false, reason, returnCode: CONNACK[reason] };
    };
    if (c.clientId === this.#identity.clientId) return refuse('clientId', { why: "the daemon's own client id is reserved" });
    if (c.username === this.#identity.username) return refuse('credentials', { why: "the daemon's username is reserved" });
    if (this.#users && !this.#users.verify(c.username, c.password)) return refuse('credentials', { user: c.username ?? null, why: 'unknown user or wrong password (usersFile)' });
    if (c.localClients >= this.limits.maxConnections) return refuse('connections', { why: `maxConnections (${this.limits.maxConnections}) reached` });
    if (c.willTopic !== undefined && !this.mayPublish(c.willTopic, { id: c.clientId, username: this.aclUsername(c.username) })) return refuse('topic', { topic: c.willTopic, why: 'a will message on a topic local clients may not publish to' });
    return { ok: true, daemon: false };
  }

  /**
   * The username the ACL knows a client by: the CONNECT's only when `usersFile` proved it. Without one a username is
   * whatever the client sent, so every client is anonymous (else any program could claim `user ops`'s grants).
   */
  aclUsername(username: string | undefined): string | undefined {
    return this.#users === undefined ? undefined : username;
  }

  /** May this local client publish to `topic`? The board's rules, then the ACL (which can only narrow them). */
  mayPublish(topic: string, client: AclClient): boolean {
    if (topic.startsWith('$')) return false;
    const prefix = this.#identity.topicPrefix;
    const open = topic.startsWith(prefix)
      ? topic.startsWith(`${prefix}event/`) || topic.startsWith(`${prefix}cmd/`)
      : topicMatches(SHARED_EVENTS, topic) || this.limits.allowPublish.some((f) => topicMatches(f, topic));
    return open && (this.#acl === undefined || this.#acl.allows(client, topic, 'write'));
  }

  /** Whether deliveries need a check at all: only with an ACL (without one every local client may read anything). */
  get checksDeliveries(): boolean {
    return this.#acl !== undefined;
  }

  /** May a message on `topic` be delivered to this local client? Counted (`read`) when not. */
  deliver(client: AclClient, topic: string): boolean {
    if (this.#acl === undefined || this.#acl.allows(client, topic, 'read')) return true;
    // Counted, not logged: a subscriber to `#` meets this on every message the board publishes, as it should.
    this.#refused.read += 1;
    return false;
  }

  /**
   * A PUBLISH (or a will about to be published). Returns the refusal, or undefined when it may go on — in which
   * case a retained one is accounted (a retained empty payload clears the topic, MQTT 3.1.1 §3.3.1.3).
   */
  publish(p: { daemon: boolean; clientId: string; username?: string | undefined; topic: string; retain: boolean; payloadBytes: number }): Refusal | undefined {
    if (!p.daemon) {
      if (!this.mayPublish(p.topic, { id: p.clientId, username: p.username })) return this.refused('topic', { client: p.clientId, topic: p.topic });
      if (!this.#rate.take(`mqtt-client:${p.clientId}`)) return this.refused('rate', { client: p.clientId, why: `over ${this.limits.publishRate.perSecond}/s` });
    }
    if (!p.retain) return undefined;
    const old = this.#retained.get(p.topic);
    if (p.payloadBytes === 0) {
      if (old !== undefined) this.#retainedBytes -= old;
      this.#retained.delete(p.topic);
      return undefined;
    }
    const size = Buffer.byteLength(p.topic) + p.payloadBytes;
    const count = this.#retained.size + (old === undefined ? 1 : 0);
    const bytes = this.#retainedBytes - (old ?? 0) + size;
    if (!p.daemon && (count > this.limits.retained.maxMessages || bytes > this.limits.retained.maxBytes)) {
      return this.refused('retained', { client: p.clientId, topic: p.topic, why: `the retained store is full (${this.#retained.size} messages, ${this.#retainedBytes} bytes)` });
    }
    this.#retained.set(p.topic, size);
    this.#retainedBytes = bytes;
    return undefined;
  }

  /** Counts a refusal and logs it, at most LOG_PER_SECOND a second per reason (a flood must not flood the log). */
  refused(reason: Refusal, detail: Record<string, unknown>): Refusal {
    this.#refused[reason] += 1;
    if (this.#logBudget.take(reason)) this.#log?.warn(`embedded broker refused (${reason})`, { ...truncate(detail), refusedSoFar: this.#refused[reason] });
    return reason;
  }

  status(): BrokerGuardStatus {
    return { retained: { messages: this.#retained.size, bytes: this.#retainedBytes }, refused: { ...this.#refused } };
  }
}

/** Client ids and topics are the peer's strings: cut them short for the log. */
function truncate(detail: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, typeof v === 'string' && v.length > 120 ? `${v.slice(0, 120)}...` : v]));
}
