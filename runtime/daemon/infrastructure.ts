/**
 * Infrastructure plugins (spec 002 phase 1.2): the daemon hard-codes no middleware; it starts the configured
 * infrastructure plugins (state DB, embedded broker, MQTT link, dashboard — added by later issues) in order
 * and stops them in reverse. A plugin that fails to start fails the boot, after the ones already started are
 * stopped again.
 */
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { InfrastructurePlugin } from '../infrastructure-plugin.ts';

export type { InfrastructurePlugin } from '../infrastructure-plugin.ts';

export type InfraState = 'pending' | 'starting' | 'running' | 'failed' | 'stopped';

export class InfrastructureRunner {
  readonly #plugins: readonly InfrastructurePlugin[];
  readonly #log: Logger;
  readonly #states = new Map<string, InfraState>();
  #started: InfrastructurePlugin[] = [];

  constructor(plugins: readonly InfrastructurePlugin[], log: Logger) {
    const names = new Set<string>();
    for (const p of plugins) {
      if (names.has(p.name)) throw new OpenStarryError(ErrorCode.INFRA_FAILED, `infrastructure plugin "${p.name}" is listed twice`);
      names.add(p.name);
      this.#states.set(p.name, 'pending');
    }
    this.#plugins = plugins;
    this.#log = log;
  }

  async startAll(): Promise<void> {
    for (const plugin of this.#plugins) {
      this.#states.set(plugin.name, 'starting');
      try {
        await plugin.start();
      } catch (err) {
        this.#states.set(plugin.name, 'failed');
        await this.stopAll();
        throw new OpenStarryError(ErrorCode.INFRA_FAILED, `infrastructure plugin "${plugin.name}" failed to start: ${(err as Error).message}`, { cause: err });
      }
      this.#started.push(plugin);
      this.#states.set(plugin.name, 'running');
      this.#log.info(`infrastructure plugin ${plugin.name} started`);
    }
  }

  /** Reverse start order; errors are logged, not thrown, so every plugin gets its stop. Idempotent. */
  async stopAll(): Promise<void> {
    const started = this.#started.reverse();
    this.#started = [];
    for (const plugin of started) {
      try {
        await plugin.stop();
        this.#states.set(plugin.name, 'stopped');
      } catch (err) {
        this.#log.error(`infrastructure plugin ${plugin.name} failed to stop: ${(err as Error).message}`);
      }
    }
  }

  states(): { name: string; state: InfraState }[] {
    return this.#plugins.map((p) => ({ name: p.name, state: this.#states.get(p.name) ?? 'pending' }));
  }
}
