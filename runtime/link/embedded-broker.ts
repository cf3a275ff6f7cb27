/**
 * The embedded broker (DESIGN §3.2: no `mqtt.url` -> a broker on 127.0.0.1:1883), on aedes 1.x: pure JavaScript,
 * ESM, Node >= 20, no install scripts. It exists so that a board with no upstream broker can still be triggered
 * locally (`mosquitto_pub -t openstarry/<id>/event/...`, `npx mqtt pub`) and so that the link always has a broker.
 *
 * What to know about it:
 *   - aedes 1.x speaks MQTT 3.1.0/3.1.1 only (it refuses an MQTT 5 CONNECT); the link uses 3.1.1 with it.
 *   - Persistence is aedes-persistence's in-memory default: retained messages (the board's status and state) and
 *     sessions are lost when the daemon stops. The link's own outbound queue is persisted regardless.
 *   - It listens on loopback by default and has no authentication: binding it to another address exposes
 *     `cmd/...` to the network. `host` is configurable for a lab; a warning is logged when it is not loopback.
 *   - aedes has no maximum packet size; on loopback the peers are local programs.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import './mqtt-packet-numbers.ts';
import type { InfrastructurePlugin } from '../daemon/infrastructure.ts';
import { OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { LinkErrorCode } from './errors.ts';

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
}

export interface EmbeddedBrokerStatus {
  /** `port-in-use`: another program held the port; no embedded broker runs (see `portInUse`). */
  state: 'stopped' | 'running' | 'port-in-use';
  host: string;
  port: number;
  clients: number;
}

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

  constructor(options: EmbeddedBrokerOptions = {}) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 1883;
    this.#log = options.log;
    this.#portInUse = options.portInUse ?? 'fail';
  }

  /** `mqtt://host:port` of the listening broker (the configured port before start). */
  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `mqtt://${host}:${this.#boundPort ?? this.#port}`;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const aedes = await Aedes.createBroker({ heartbeatInterval: 60_000, drainTimeout: 10_000 });
    aedes.on('clientError', (client, err) => this.#log?.debug('embedded broker: client error', { client: client.id, error: err.message }));
    const server = net.createServer(aedes.handle);
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
    if (!['127.0.0.1', '::1', 'localhost'].includes(this.#host)) this.#log?.warn('embedded broker listens beyond loopback, without authentication', { host: this.#host });
    this.#log?.info('embedded MQTT broker listening', { url: this.url });
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
    return { state: this.#aedes ? 'running' : this.#skipped ? 'port-in-use' : 'stopped', host: this.#host, port: this.#boundPort ?? this.#port, clients: this.#aedes?.connectedClients ?? 0 };
  }
}
