// The soak run's agent (scripts/soak/run.ts). Every 1/hz s: one real HAL read, then ctx.events.publish of
// `soak/reading` {a: agent id, b: boot id, s: sequence, v: value, mark}. The sequence only advances when the daemon
// accepted the event, so every number below `published` must reach the subscriber: a gap is a lost message. `mark`
// is true on every 50th, for the soak rule's condition. A line `SOAK {...}` with the counters is logged every
// reportEveryMs and once more, with final: true, after the event soak/stop (the run's end).

/** @type {import('../../../runtime/core/plugin.ts').IPlugin & Record<string, unknown>} */
const soak = {
  name: 'soak-sensor',
  start(ctx) {
    const boot = Math.random().toString(36).slice(2, 10);
    const sensor = String(ctx.config.sensor);
    const every = Math.max(1, Math.round(1000 / Number(ctx.config.hz ?? 10)));
    const c = { boot, published: 0, refused: 0, reads: 0, readErrors: 0, skipped: 0 };
    let busy = false;
    let stopped = false;
    // heapUsed / heapTotal of this isolate (process.memoryUsage in a worker speaks of the worker's own heap): whether
    // an agent's memory growth is live data or only heap the GC has not given back yet.
    // With the daemon started under --expose-gc (SOAK_NODE_FLAGS, for a diagnosis only), a full GC first: what is
    // then left is live data.
    const heap = () => {
      if (typeof globalThis.gc === 'function') globalThis.gc();
      const m = process.memoryUsage();
      return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
    };
    const report = (final) => ctx.log.info(`SOAK ${JSON.stringify({ ...c, ...heap(), final })}`);
    const tick = async () => {
      if (stopped) return;
      // A read or publish still pending (a slow machine): skip this tick rather than pile calls up.
      if (busy) return void (c.skipped += 1);
      busy = true;
      try {
        const value = await ctx.hal.getSensorData(sensor);
        c.reads += 1;
        const s = c.published;
        try {
          await ctx.events.publish('soak/reading', { a: ctx.agentId, b: boot, s, v: value, mark: s % 50 === 0 });
          c.published += 1;
        } catch (err) {
          c.refused += 1;
          if (c.refused <= 5) ctx.log.warn(`publish refused: ${err.code ?? ''} ${err.message}`);
        }
      } catch (err) {
        c.readErrors += 1;
        if (c.readErrors <= 5) ctx.log.warn(`read failed: ${err.code ?? ''} ${err.message}`);
      } finally {
        busy = false;
      }
    };
    this.timer = setInterval(() => void tick(), every);
    this.reporter = setInterval(() => report(false), Number(ctx.config.reportEveryMs ?? 5000));
    ctx.events.on('soak/stop', async () => {
      stopped = true;
      clearInterval(this.timer);
      while (busy) await new Promise((r) => setTimeout(r, 5));
      report(true);
    });
  },
  stop() {
    clearInterval(this.timer);
    clearInterval(this.reporter);
  },
};

export default soak;
