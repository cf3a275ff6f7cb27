// The master agent's heartbeat plugin: publishes a retained `master/heartbeat` on the agent's internal bus,
// which is the snapshot the daemon pulls for the global view (spec 000 §3.2). It holds one timer, so the
// master stays alive until it is stopped.

/** @type {import('../../runtime/core/plugin.ts').IPlugin & { timer?: ReturnType<typeof setInterval> }} */
const heartbeat = {
  name: 'heartbeat',
  start(ctx) {
    const every = Number(ctx.config.heartbeatMs ?? 30000);
    let beats = 0;
    const beat = () => {
      beats += 1;
      ctx.bus.publish('master/heartbeat', { beats, at: new Date().toISOString() }, { retain: true });
    };
    beat();
    this.timer = setInterval(beat, every);
    ctx.log.info('master agent online', { agentId: ctx.agentId, heartbeatMs: every });
  },
  stop(ctx) {
    clearInterval(this.timer);
    ctx.log.info('master agent stopping');
  },
};

export default heartbeat;
