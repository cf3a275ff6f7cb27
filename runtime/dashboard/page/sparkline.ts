/**
 * A sensor's last 10 minutes as a small SVG polyline (issue 15 "each sensor's last 10 minutes as a small chart"):
 * hand-drawn rather than a chart library, because a line and its min/max are all the page needs and this is a few
 * hundred bytes. Pure: the page renders the points, the unit test checks them.
 */

export interface Sparkline {
  /** `x,y` pairs for <polyline points>, in a `width` x `height` box (y grows downwards). */
  points: string;
  min: number;
  max: number;
  last: number;
}

/**
 * Points of `values` taken at times `at` (ms), over the window [end - windowMs, end]; undefined without values.
 * A flat series is drawn in the middle.
 */
export function sparkline(at: readonly number[], values: readonly number[], o: { width: number; height: number; windowMs: number; end: number }): Sparkline | undefined {
  const n = Math.min(at.length, values.length);
  if (n === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i += 1) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const pad = 2;
  const span = max - min;
  const start = o.end - o.windowMs;
  const pts: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const x = Math.max(0, Math.min(o.width, ((at[i]! - start) / o.windowMs) * o.width));
    const y = span === 0 ? o.height / 2 : pad + (1 - (values[i]! - min) / span) * (o.height - 2 * pad);
    pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  return { points: pts.join(' '), min, max, last: values[n - 1]! };
}
