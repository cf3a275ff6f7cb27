/**
 * The daemon's side of ctx.agents, the AgentManagerTool (spec 002 phase 4): a master asks for a worker by template
 * id, the daemon fetches that template from the design layer and spawns it. Only template ids are accepted —
 * never paths or manifests from an agent — and every call is checked against the caller's `agents:` capabilities
 * (`agents:<template>:spawn|kill|list`, `*` for any template); a refused call is ERR_CAPABILITY_DENIED and logged.
 */
import { parseCapability } from '../../hal/capability-grammar.ts';
import type { DaemonChannel } from '../core/channel-methods.ts';
import { ErrorCode, OpenStarryError } from '../core/errors.ts';
import type { IAgentStatus } from '../control/protocol.ts';
import type { Blueprint } from '../design/blueprint.ts';
import { deepFreeze } from '../design/blueprint.ts';
import { AGENT_ID } from '../design/manifest-schema.ts';
import type { Logger } from '../logging/logger.ts';

export interface AgentManagerDeps {
  /** The template as the design layer has it now (validated). */
  template(templateId: string): Promise<Blueprint>;
  spawn(blueprint: Blueprint, templateId: string): Promise<IAgentStatus>;
  kill(pid: string): Promise<IAgentStatus>;
  list(): IAgentStatus[];
  log: Logger;
}

const MAX_CONFIG_CHARS = 64 * 1024;

function summary(s: IAgentStatus): { pid: string; agentId: string; template: string; state: string; reason?: string } {
  return s.reason === undefined ? { pid: s.pid, agentId: s.agentId, template: s.template, state: s.state } : { pid: s.pid, agentId: s.agentId, template: s.template, state: s.state, reason: s.reason };
}

export function serveAgentManager(caller: Blueprint, pid: string, channel: DaemonChannel, deps: AgentManagerDeps): void {
  const grants = new Set<string>();
  for (const raw of caller.manifest.capabilities) {
    const cap = parseCapability(raw);
    if (!('error' in cap) && cap.kind === 'agents') grants.add(`${cap.resource}:${cap.operation}`);
  }
  const allowed = (template: string, op: string) => grants.has(`${template}:${op}`) || grants.has(`*:${op}`);
  const deny = (call: string, needed: string) => {
    deps.log.warn(`denied: agent ${caller.manifest.id} (pid ${pid}) ${call} without ${needed}`);
    return new OpenStarryError(ErrorCode.CAPABILITY_DENIED, `${call} needs capability ${needed}, which agent ${caller.manifest.id} was not granted`);
  };
  const params = (p: unknown): Record<string, unknown> => (typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : {});

  channel.handle('agents.spawn', async (p) => {
    const { templateId, config } = params(p);
    if (typeof templateId !== 'string' || !AGENT_ID.test(templateId)) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, 'spawn takes a template id (never a path or a manifest)');
    if (!allowed(templateId, 'spawn')) throw deny(`agents.spawn(${templateId})`, `agents:${templateId}:spawn`);
    let blueprint = await deps.template(templateId);
    if (config !== undefined) {
      if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, 'spawn config must be an object');
      const text = JSON.stringify(config);
      if (text.length > MAX_CONFIG_CHARS) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, `spawn config is larger than ${MAX_CONFIG_CHARS} characters`);
      // The override becomes part of this instance's frozen blueprint (spec 002: immutable for its lifetime).
      blueprint = deepFreeze({ ...blueprint, manifest: { ...blueprint.manifest, config: { ...blueprint.manifest.config, ...(JSON.parse(text) as Record<string, unknown>) } } });
    }
    deps.log.info(`agent ${caller.manifest.id} (pid ${pid}) spawns ${templateId}`);
    return summary(await deps.spawn(blueprint, templateId));
  });

  channel.handle('agents.kill', async (p) => {
    const { pid: target } = params(p);
    if (typeof target !== 'string' || target.length === 0 || target.length > 128) throw new OpenStarryError(ErrorCode.INVALID_PARAMS, 'kill takes a pid');
    const status = deps.list().find((a) => a.pid === target);
    if (!status) throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent with pid ${target}`);
    if (!allowed(status.template, 'kill')) throw deny(`agents.kill(${target})`, `agents:${status.template}:kill`);
    return summary(await deps.kill(target));
  });

  channel.handle('agents.list', () => {
    const visible = deps.list().filter((a) => allowed(a.template, 'list'));
    if (visible.length === 0 && ![...grants].some((g) => g.endsWith(':list'))) throw deny('agents.list()', 'agents:*:list');
    return visible.map(summary);
  });
}
