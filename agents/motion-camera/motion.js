// The motion camera: PIR edge -> one JPEG frame -> `motion/snapshot` event.
//
// Events are capped at 64 KiB of JSON, so a frame is inlined as base64 only when it is at most `inlineMaxBytes`
// (32 KiB -> about 43 KiB of base64); a larger frame is published as a reference (size, FNV-1a hash, sequence
// number) and kept in the agent's bus snapshot as its hash only — a real deployment would upload it and publish a URL.
// Motion faster than `minIntervalMs`, or while a frame is being read, is counted and skipped, not queued.
//
// Lifecycle: the PIR watch keeps the agent running until it is killed (the example rules kill it hourly). When a rule
// spawned it for an edge, that edge (ctx.config.trigger) is handled at start, so the first motion is not missed.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 without Buffer or btoa, so the plugin runs unchanged in every isolate (worker, process, QuickJS). */
export function base64(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    out += B64[a >> 2] + B64[((a & 3) << 4) | (b >> 4)];
    out += i + 1 < bytes.length ? B64[((b & 15) << 2) | (c >> 6)] : '=';
    out += i + 2 < bytes.length ? B64[c & 63] : '=';
  }
  return out;
}

export function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** One frame from a fresh stream, then the stream is cancelled (the daemon stops sending frames). */
async function oneFrame(ctx, camera, timeoutMs) {
  const reader = ctx.hal.getCameraStream(camera).getReader();
  let timer;
  try {
    const frame = await Promise.race([
      reader.read(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no frame from ${camera} within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    if (frame.done || !frame.value) throw new Error(`${camera} stream ended without a frame`);
    return frame.value;
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => undefined);
  }
}

/** @type {import('../../runtime/core/plugin.ts').IPlugin & { off?: () => void }} */
const motion = {
  name: 'motion-camera',
  start(ctx) {
    const pir = String(ctx.config.pir ?? 'pir');
    const camera = String(ctx.config.camera ?? 'cam0');
    const minIntervalMs = Number(ctx.config.minIntervalMs ?? 2000);
    const inlineMax = Number(ctx.config.inlineMaxBytes ?? 32768);
    const timeoutMs = Number(ctx.config.frameTimeoutMs ?? 5000);
    const saved = ctx.state.get();
    let seq = saved && typeof saved === 'object' && typeof saved.snapshots === 'number' ? saved.snapshots : 0;
    let busy = false;
    let lastAt = -Infinity;
    let skipped = 0;

    const snapshot = async (cause) => {
      const now = Date.now();
      if (busy || now - lastAt < minIntervalMs) {
        skipped += 1;
        return;
      }
      busy = true;
      lastAt = now;
      try {
        const frame = await oneFrame(ctx, camera, timeoutMs);
        seq += 1;
        const summary = { seq, camera, size: frame.byteLength, at: new Date().toISOString(), cause, hash: fnv1a(frame) };
        const event = frame.byteLength <= inlineMax ? { ...summary, jpegBase64: base64(frame) } : { ...summary, reference: `${camera}/${seq}/${summary.hash}` };
        ctx.log.info(`motion: frame ${seq} from ${camera}, ${frame.byteLength} bytes${event.jpegBase64 ? '' : ' (published by reference)'}`, { cause, skipped });
        await ctx.events.publish('motion/snapshot', event);
        ctx.bus.publish('motion/last', summary, { retain: true });
        ctx.state.set({ snapshots: seq, last: summary, skipped });
      } catch (err) {
        ctx.log.error(`motion snapshot failed: ${err.code ?? 'ERR'}: ${err.message}`);
      } finally {
        busy = false;
      }
    };

    this.off = ctx.hal.watch(pir, (edge) => {
      if (edge.edge === 'rising') void snapshot('pir');
    });
    const trigger = ctx.config.trigger;
    if (trigger && typeof trigger === 'object' && typeof trigger.name === 'string') void snapshot(trigger.name);
    ctx.log.info(`watching ${pir} for motion, camera ${camera}`);
  },
  stop() {
    this.off?.();
  },
};

export default motion;
