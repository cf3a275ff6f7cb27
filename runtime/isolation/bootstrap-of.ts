/** The HostBootstrap every Node-hosted isolate starts from (worker, process, docker): the blueprint as plain data. */
import type { HostBootstrap } from './host/agent-host.ts';
import type { IsolateSpec } from './isolation-driver.ts';

/** `rootDir` is where the template's folder is as the isolate sees it (a container mounts it elsewhere). */
export function bootstrapOf(spec: IsolateSpec, rootDir: string = spec.blueprint.rootDir): HostBootstrap {
  const { manifest, files } = spec.blueprint;
  const b: HostBootstrap = { pid: spec.pid, agentId: manifest.id, rootDir, plugins: manifest.plugins, files, config: manifest.config as HostBootstrap['config'] };
  if (spec.maxMessageBytes !== undefined) b.maxMessageBytes = spec.maxMessageBytes;
  return b;
}
