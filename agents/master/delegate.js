// The master agent's delegation plugin (spec 002 phase 4, "worker agents on demand"): it asks the daemon, through
// ctx.agents (the AgentManagerTool), for the worker agents named in config.workers, by template id. The daemon
// fetches each template from the design layer and spawns it. Workers already running (after a crash recovery, or
// spawned by hand) are left alone. Set `workers` in a copy of this template to delegate at boot.

/** @type {import('../../runtime/core/plugin.ts').IPlugin} */
const delegate = {
  name: 'delegate',
  async start(ctx) {
    const workers = Array.isArray(ctx.config.workers) ? ctx.config.workers : [];
    if (workers.length === 0) return;
    const running = new Set((await ctx.agents.list()).filter((a) => a.state === 'running').map((a) => a.template));
    for (const template of workers) {
      if (running.has(template)) continue;
      try {
        const worker = await ctx.agents.spawn(String(template), { delegatedBy: ctx.agentId });
        ctx.log.info(`delegated to ${template}`, { pid: worker.pid, state: worker.state });
      } catch (err) {
        ctx.log.error(`could not delegate to ${template}: ${err.code ?? 'ERR'}: ${err.message}`);
      }
    }
  },
};

export default delegate;
