/**
 * The dashboard server (runtime/orchestrator/dashboard-server.ts) as an infrastructure plugin that never fails a
 * boot. It lives with the daemon, not with the orchestrator, because it implements the daemon's
 * InfrastructurePlugin (infrastructure.ts) and the orchestrator must not import the daemon.
 */
import type { Logger } from '../logging/logger.ts';
import type { DashboardServer, DashboardStats } from '../dashboard/dashboard-server.ts';
import type { InfrastructurePlugin } from './infrastructure.ts';

/**
 * The dashboard server as an infrastructure plugin that does not fail the boot: a taken port (another service on
 * 8080) is logged and shown in `status`, and the board keeps running without its dashboard.
 */
export class TolerantDashboard implements InfrastructurePlugin {
  readonly name = 'dashboard';
  readonly #server: DashboardServer;
  readonly #log: Logger;
  #error: string | undefined;

  constructor(server: DashboardServer, log: Logger) {
    this.#server = server;
    this.#log = log;
  }

  get error(): string | undefined {
    return this.#error;
  }

  address(): { host: string; port: number } | undefined {
    return this.#server.address();
  }

  stats(): DashboardStats | undefined {
    return this.#server.stats();
  }

  /** DashboardServer.reloadToken; 'none' when the dashboard did not start. */
  reloadToken(): ReturnType<DashboardServer['reloadToken']> {
    return this.#error === undefined ? this.#server.reloadToken() : Promise.resolve('none');
  }

  async start(): Promise<void> {
    try {
      await this.#server.start();
    } catch (err) {
      this.#error = (err as Error).message;
      this.#log.warn(`${this.#error}; running without the dashboard`);
    }
  }

  stop(): Promise<void> {
    return this.#server.stop();
  }
}
