// Example plugin: ticks on a timer, logs each tick, and keeps the count as a retained bus topic.
// Spawn it with `npm run openstarry -- spawn hello-sensor`, watch it with `npm run openstarry -- logs hello-sensor -f`.

/** @type {import('../../runtime/core/plugin.ts').IPlugin & { timer?: ReturnType<typeof setInterval> }} */
const ticker = {
  name: 'ticker',
  start(ctx) {
    let ticks = 0;
    const every = Number(ctx.config.intervalMs ?? 2000);
    this.timer = setInterval(() => {
      ticks += 1;
      ctx.bus.publish('ticks', ticks, { retain: true });
      ctx.log.info(`${ctx.config.label ?? 'tick'} #${ticks}`);
    }, every);
    ctx.signal.addEventListener('abort', () => ctx.log.info(`stopping after ${ticks} ticks`));
  },
  stop() {
    clearInterval(this.timer);
  },
};

export default ticker;
