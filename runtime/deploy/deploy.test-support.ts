/**
 * Fakes of the deployer's ports (deploy-ports.ts) for its unit tests: agents whose behaviour each version picks,
 * a state store, a template overlay; and a VerifiedBundle built from files (the bundle's signature is
 * runtime/design/bundle.ts's part and is tested there).
 */
import { createHash } from 'node:crypto';
import type { Blueprint } from '../design/blueprint.ts';
import { createLogger } from '../logging/logger.ts';
import type { JsonValue } from '../state/state-schema.ts';
import type { IAgentStatus } from '../supervisor/agent-status.ts';
import type { DeployAgents, DeployState, DeployTemplates } from './deploy-ports.ts';
import type { VerifiedBundle } from './deploy-types.ts';

export const quietLog = createLogger('deploy-test', { level: 'error' });

/** What a version does once started: runs, fails to start, or crashes (and is restarted) a moment later. */
export type Behaviour = 'ok' | 'crash-at-start' | 'crash-later';

export function bundleOf(templateId: string, version: string, extra: Record<string, unknown> = {}): VerifiedBundle {
  const manifest = JSON.stringify({ id: templateId, version, plugins: ['./main.js'], isolation: 'worker', ...extra }, null, 2);
  const files = new Map<string, Uint8Array>([
    ['agent.json', Buffer.from(manifest)],
    ['main.js', Buffer.from(`export default { name: 'main', start() {} }; // ${version}\n`)],
  ]);
  const sha256 = createHash('sha256').update(manifest).digest('hex');
  return { templateId, version, sha256, signer: 'test', files };
}

export class FakeAgents implements DeployAgents {
  readonly #live = new Map<string, IAgentStatus>();
  readonly #versions = new Map<string, string>();
  /** Every start, as `<id>@<version>`, in order. */
  readonly started: string[] = [];
  readonly stopped: string[] = [];
  #nextPid = 1;
  behaviour: (version: string) => Behaviour = () => 'ok';
  /** What the running version saves as its state when it starts (the hydration test's "new version writes"). */
  onStart: ((blueprint: Blueprint) => void) | undefined;

  live(agentId: string): IAgentStatus | undefined {
    const s = this.#live.get(agentId);
    return s ? { ...s } : undefined;
  }

  async stop(agentId: string): Promise<void> {
    this.stopped.push(agentId);
    this.#live.delete(agentId);
  }

  async start(blueprint: Blueprint, template: string): Promise<IAgentStatus> {
    const id = blueprint.manifest.id;
    const version = blueprint.manifest.version;
    this.started.push(`${id}@${version}`);
    const status: IAgentStatus = { pid: String(this.#nextPid++), agentId: id, template, isolation: 'worker', state: 'running', startedAt: new Date().toISOString(), restarts: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0 };
    const behaviour = this.behaviour(version);
    if (behaviour === 'crash-at-start') return { ...status, state: 'crashed', reason: 'start() threw: boom' };
    this.#live.set(id, status);
    this.#versions.set(id, version);
    this.onStart?.(blueprint);
    // Crashes at its first look by the health window: restarted by its policy, with one restart counted.
    if (behaviour === 'crash-later') setImmediate(() => this.#live.has(id) && this.#live.set(id, { ...status, restarts: 1, reason: 'crashed: exit 1' }));
    return { ...status };
  }

  /** What the live instance of `id` last reported through ctx.health(). */
  report(id: string, health: { ok: boolean; reason?: string }): void {
    const s = this.#live.get(id);
    if (s) this.#live.set(id, { ...s, health });
  }

  /** The version of the live instance of `id`, if one runs. */
  runningVersion(id: string): string | undefined {
    return this.#live.has(id) ? this.#versions.get(id) : undefined;
  }
}

export class FakeState implements DeployState {
  readonly values = new Map<string, JsonValue>();
  flushes = 0;
  get(agentId: string): JsonValue | undefined {
    return structuredClone(this.values.get(agentId));
  }
  set(agentId: string, value: JsonValue | undefined): void {
    if (value === undefined) this.values.delete(agentId);
    else this.values.set(agentId, structuredClone(value));
  }
  async flush(): Promise<void> {
    this.flushes += 1;
  }
}

export class FakeTemplates implements DeployTemplates {
  readonly deployed = new Map<string, Blueprint>();
  /** The shipped/local templates: id -> blueprint. */
  readonly own = new Map<string, Blueprint>();
  setDeployed(templateId: string, blueprint: Blueprint | undefined): void {
    if (blueprint) this.deployed.set(templateId, blueprint);
    else this.deployed.delete(templateId);
  }
  async fresh(templateId: string): Promise<Blueprint> {
    const b = this.deployed.get(templateId) ?? this.own.get(templateId);
    if (!b) throw new Error(`no template ${templateId}`);
    return b;
  }
  baseline(templateId: string): string | undefined {
    return this.own.get(templateId)?.manifest.version;
  }
  versionOf(templateId: string): string | undefined {
    return (this.deployed.get(templateId) ?? this.own.get(templateId))?.manifest.version;
  }
}
