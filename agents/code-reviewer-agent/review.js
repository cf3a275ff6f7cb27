// The code reviewer (spec 000 §3.1: `on: git:commit_pushed, if: branch == 'main', action: spawn(code-reviewer-agent)`).
//
// Lifecycle, by choice: a one-shot worker. The triggering event is in ctx.config.trigger ({ name, data, source, at });
// further pushes addressed to it (the rule delivers to a running agent instead of spawning a second one) arrive
// through ctx.events.on and are queued. Once it has had nothing to do for `lingerMs` it unsubscribes; with nothing
// left to wait for, the isolate ends on its own (state `exited`, code 0), and the next push spawns it afresh. The
// linger closes most of the window in which a push delivered to a finishing instance would be lost.
//
// The "review" is deliberately simple and deterministic — a stand-in for a real reviewer (an LLM tool call would meter
// its tokens with ctx.metering): it flags commits that touch sensitive paths or too many files.

/** @param {Record<string, unknown>} data @param {Readonly<Record<string, unknown>>} config */
export function review(data, config) {
  const files = Array.isArray(data.files) ? data.files.filter((f) => typeof f === 'string') : [];
  const watch = Array.isArray(config.watchPaths) ? config.watchPaths.map(String) : [];
  const maxFiles = Number(config.maxFiles ?? 50);
  const notes = [];
  if (files.length > maxFiles) notes.push(`${files.length} files changed (more than ${maxFiles}): split the commit`);
  for (const f of files) if (watch.some((w) => f === w || (w.endsWith('/') && f.startsWith(w)))) notes.push(`touches ${f}: needs a second reviewer`);
  if (typeof data.message === 'string' && data.message.trim().length < 10) notes.push('commit message is shorter than 10 characters');
  return {
    sha: typeof data.sha === 'string' ? data.sha : 'unknown',
    branch: typeof data.branch === 'string' ? data.branch : 'unknown',
    author: typeof data.author === 'string' ? data.author : 'unknown',
    files: files.length,
    verdict: notes.length === 0 ? 'approved' : 'needs-attention',
    notes,
  };
}

/** @type {import('../../runtime/core/plugin.ts').IPlugin & { linger?: ReturnType<typeof setTimeout> }} */
const reviewer = {
  name: 'code-reviewer',
  async start(ctx) {
    const queue = [];
    const lingerMs = Number(ctx.config.lingerMs ?? 5000);
    let working = false;
    let listening = true;
    const off = ctx.events.on('git:*', (_data, event) => {
      queue.push(event);
      clearTimeout(this.linger);
      if (!working) void work();
    });
    const finish = () => {
      if (!listening) return;
      listening = false;
      off(); // nothing holds the isolate any more: it ends on its own
      ctx.log.info('no more commits to review; exiting');
    };
    const work = async () => {
      working = true;
      while (queue.length > 0 && !ctx.signal.aborted) {
        const event = queue.shift();
        const data = event.data && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : {};
        ctx.log.info(`reviewing ${data.sha ?? 'a commit'} on ${data.branch ?? '?'} by ${data.author ?? '?'}`, { event: event.name, source: event.source });
        const result = review(data, ctx.config);
        ctx.log.info(`review of ${result.sha}: ${result.verdict}`, { notes: result.notes });
        try {
          await ctx.events.publish('review/completed', result);
        } catch (err) {
          ctx.log.error(`could not publish the review: ${err.code ?? 'ERR'}: ${err.message}`);
        }
        const before = ctx.state.get();
        const reviews = (before && typeof before === 'object' && typeof before.reviews === 'number' ? before.reviews : 0) + 1;
        ctx.state.set({ reviews, last: { ...result, at: new Date().toISOString() } });
        ctx.bus.publish('review/last', result, { retain: true });
      }
      working = false;
      if (lingerMs > 0) this.linger = setTimeout(finish, lingerMs);
      else finish();
    };
    const trigger = ctx.config.trigger;
    if (!trigger || typeof trigger !== 'object') {
      ctx.log.warn('spawned without a trigger event (expected one from the git:commit_pushed rule); nothing to review');
      finish();
      return;
    }
    queue.push(trigger);
    void work();
  },
  stop() {
    clearTimeout(this.linger);
  },
};

export default reviewer;
