/** A fake daemon whose deployments report their steps and wait for the test (deploy progress tests). Tests only. */
import type { DeployProgress } from '../deploy/deploy-types.ts';
import type { DeployResult } from './protocol.ts';
import { FakeDaemonApi } from './test-kit.ts';

export const AT = '2026-12-06T08:00:00.000Z';
export const step = (phase: DeployProgress['phase'], extra: Partial<DeployProgress> = {}): DeployProgress => ({ templateId: 'climate', version: '2.0.0', phase, at: AT, ...extra }) as DeployProgress;

/** A FakeDaemonApi whose deployments report `steps`, then wait for the test's release before answering. */
export class HoldingApi extends FakeDaemonApi {
  reported = false;
  /** false: a daemon from before `deploy.progress`, whose steps come only in the response. */
  notifies = true;
  outcome: DeployResult['outcome'] = { outcome: 'committed', templateId: 'climate', version: '2.0.0', previous: '1.0.0' };
  release: () => void = () => undefined;
  readonly calls: string[] = [];

  constructor(readonly steps: DeployProgress[]) {
    super();
  }

  override deploy(target: string, _options?: unknown, onProgress?: (p: DeployProgress) => void): Promise<DeployResult> {
    return this.#run(`apply ${target}`, onProgress);
  }

  override rollbackDeployment(templateId: string, _options?: unknown, onProgress?: (p: DeployProgress) => void): Promise<DeployResult> {
    return this.#run(`rollback ${templateId}`, onProgress);
  }

  async #run(what: string, onProgress: ((p: DeployProgress) => void) | undefined): Promise<DeployResult> {
    this.calls.push(what);
    if (this.notifies) for (const s of this.steps) onProgress?.(s);
    this.reported = true;
    await new Promise<void>((resolve) => (this.release = resolve));
    return { outcome: this.outcome, progress: this.steps };
  }
}

export function holdingApi(steps: DeployProgress[]): { api: HoldingApi; held: HoldingApi } {
  const api = new HoldingApi(steps);
  return { api, held: api };
}

/** Every step of a deployment that replaces a running 1.0.0 and commits (runtime/deploy/deployer.ts). */
export const STEPS = [step('pending'), step('verified'), step('staged'), step('stopping', { from: '1.0.0' }), step('started'), step('watching', { windowMs: 30_000 }), step('healthy')];
