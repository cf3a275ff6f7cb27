/**
 * The docker isolation driver as the daemon opens it (docs/ARCHITECTURE.md "Isolation drivers"): an infrastructure step, because it
 * talks to a container engine that may or may not be there. `isolation.docker.enabled`:
 *   auto   (default) try when DOCKER_HOST is set or the engine's default socket exists; absent -> not offered
 *   true   try; an engine that does not answer or a missing image leaves the daemon running, `degraded`
 *   false  never
 * When docker is not available, a spawn asking for it fails with ERR_ISOLATION_UNAVAILABLE naming the reason.
 * dockerode is imported only here and only when docker is tried, so a board without docker never loads it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { IIsolationDriver } from '../isolation/isolation-driver.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging/logger.ts';
import type { InfrastructurePlugin } from './infrastructure.ts';
import type { DaemonConfig } from './config-schema.ts';

export type DockerConfig = DaemonConfig['isolation']['docker'];

const DEFAULT_SOCKET = '/var/run/docker.sock';

export class DockerIsolationPlugin implements InfrastructurePlugin {
  readonly name = 'docker-isolation';
  readonly #config: DockerConfig;
  readonly #home: string;
  readonly #daemonId: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #log: Logger;
  readonly #clock: Clock | undefined;
  #driver: IIsolationDriver | undefined;
  #unavailable: string | undefined;

  constructor(options: { config: DockerConfig; home: string; daemonId: string; env: Readonly<Record<string, string | undefined>>; clock?: Clock; log: Logger }) {
    this.#config = options.config;
    this.#home = options.home;
    this.#daemonId = options.daemonId;
    this.#env = options.env;
    this.#log = options.log;
    this.#clock = options.clock;
  }

  /** The opened driver, if docker is available. */
  get driver(): IIsolationDriver | undefined {
    return this.#driver;
  }

  /** Why docker is not offered (undefined when it is, or when it was never tried). */
  get unavailable(): string | undefined {
    return this.#unavailable;
  }

  /** True when docker was asked for explicitly and is not there: `status` says degraded. */
  get degraded(): boolean {
    return this.#config.enabled === true && this.#driver === undefined;
  }

  async start(): Promise<void> {
    const c = this.#config;
    if (c.enabled === false) {
      this.#unavailable = 'disabled in the config (isolation.docker.enabled: false)';
      return;
    }
    const socket = c.socketPath ?? (this.#env.DOCKER_HOST ? undefined : DEFAULT_SOCKET);
    if (c.enabled === 'auto' && socket !== undefined && !existsSync(socket)) {
      this.#unavailable = `no container engine (${socket} does not exist)`;
      return;
    }
    try {
      const { DockerDriver } = await import('../isolation/docker/docker-driver.ts');
      this.#driver = await DockerDriver.open({
        ...(c.image ? { image: c.image } : {}),
        ...(c.socketPath ? { socketPath: c.socketPath } : {}),
        ...(c.user ? { user: c.user } : {}),
        ...(c.network ? { grantedNetwork: c.network } : {}),
        // Short: a Unix socket path is limited to 107 bytes and the container's socket lives under it.
        runDir: path.join(this.#home, 'run', 'docker'),
        daemonId: this.#daemonId,
        limits: { runtimeOverheadMb: c.runtimeOverheadMb, pidsLimit: c.pidsLimit },
        ...(this.#clock ? { clock: this.#clock } : {}),
      });
      this.#log.info('docker isolation available', { image: c.image ?? 'default' });
    } catch (err) {
      this.#unavailable = (err as Error).message;
      this.#log[c.enabled === true ? 'warn' : 'info'](`docker isolation not available: ${this.#unavailable}`);
    }
  }

  async stop(): Promise<void> {
    // The supervisor closes every driver it was given (after stopping its agents); nothing else is held here.
  }
}
