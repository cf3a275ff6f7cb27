/** How big a message is, measured cheaply and only as far as a cap (isolation/message-cap.ts). Pure. */
/**
 * The size of `value` as it would travel (strings by their length, buffers by their bytes, keys included, a byte
 * or two per scalar), counted only until it passes `cap`: returns that running size once over the cap, else undefined.
 * The walk stops early, so measuring a 200 MB message costs no more than measuring `cap` bytes of it, and it
 * uses its own stack (no recursion: a message nested 100k deep cannot overflow it). A lower bound for a
 * structured clone or JSON (UTF-16 and escapes make those larger), close enough for a cap whose
 * purpose is to stop messages of many megabytes; the process and docker channels' frames carry the exact size.
 */
export function messageSizeOver(value: unknown, cap: number): number | undefined {
  let size = 0;
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v !== 'object' || v === null) size += 2;
    else if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) size += v.byteLength;
    else if (!seen.has(v)) {
      seen.add(v);
      // One byte per element as it is pushed, so a huge array or object is cut off here, not stacked whole.
      const push = (x: unknown, extra: number): boolean => {
        stack.push(x);
        size += 1 + extra;
        return size > cap;
      };
      if (v instanceof Map) {
        for (const [k, x] of v) if (push(k, 0) || push(x, 0)) break;
      } else if (v instanceof Set) {
        for (const x of v) if (push(x, 0)) break;
      } else if (Array.isArray(v)) {
        for (const x of v) if (push(x, 0)) break;
      } else {
        for (const k in v) if (Object.hasOwn(v, k) && push((v as Record<string, unknown>)[k], k.length + 2)) break;
      }
    }
    if (size > cap) return size;
  }
  return undefined;
}

/** The marker a cut log line ends with (README "Resource limits"): `… [cut 123456 chars]`. */
export function cutMarker(cut: number): string {
  return `… [cut ${cut} chars]`;
}
