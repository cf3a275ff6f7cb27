// The devops agent (spec 000 §3.1: `on: alert:server_down, action: spawn(devops-agent)`).
//
// Lifecycle, by choice: a long-running service. It handles its trigger (ctx.config.trigger), then every event the
// daemon sends it: alerts its `events:alert/*:subscribe` grant covers, the same alert again when the rule fires while
// it runs (delivered instead of a second spawn), and whatever a rule notify(devops-agent)s (e.g. climate/too_hot).
// The subscription keeps it alive until it is killed. Incidents survive restarts in ctx.state.

/** @param {{ name: string, data: unknown, source: string }} event */
export function incidentOf(event, seq) {
  const data = event.data && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : { value: event.data };
  const what = event.name.replace(/^alert[:/]/, '');
  return {
    id: `inc-${seq}`,
    what,
    event: event.name,
    source: event.source,
    host: typeof data.host === 'string' ? data.host : undefined,
    severity: event.name.startsWith('alert') ? 'high' : 'info',
    data,
  };
}

/** @type {import('../../runtime/core/plugin.ts').IPlugin} */
const incidents = {
  name: 'incidents',
  start(ctx) {
    const keep = Number(ctx.config.keepIncidents ?? 20);
    const saved = ctx.state.get();
    let seq = saved && typeof saved === 'object' && typeof saved.seq === 'number' ? saved.seq : 0;
    let open = saved && typeof saved === 'object' && Array.isArray(saved.open) ? saved.open : [];

    const handle = async (event) => {
      seq += 1;
      const incident = { ...incidentOf(event, seq), openedAt: new Date().toISOString() };
      ctx.log.info(`incident ${incident.id}: ${incident.what}${incident.host ? ` on ${incident.host}` : ''}`, { event: event.name, source: event.source });
      open = [...open, incident].slice(-keep);
      ctx.state.set({ seq, open });
      ctx.bus.publish('devops/open', open.length, { retain: true });
      ctx.bus.publish('devops/last', incident, { retain: true });
      try {
        await ctx.events.publish('devops/incident_opened', { id: incident.id, what: incident.what, host: incident.host ?? null, severity: incident.severity });
      } catch (err) {
        ctx.log.error(`could not publish incident ${incident.id}: ${err.code ?? 'ERR'}: ${err.message}`);
      }
    };

    // Everything the daemon sends this agent is for it: the daemon filters by grant and by rule.
    ctx.events.on('*', (_data, event) => handle(event));
    const trigger = ctx.config.trigger;
    if (trigger && typeof trigger === 'object' && typeof trigger.name === 'string') void handle(trigger);
    ctx.log.info('devops agent serving alerts', { open: open.length });
  },
  stop(ctx) {
    ctx.log.info('devops agent stopping');
  },
};

export default incidents;
