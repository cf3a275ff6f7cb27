/**
 * A named export of a CommonJS package loaded with import(). Node's own ESM loader (and esbuild without code
 * splitting) offers the package's exports as named exports; esbuild's split chunks (scripts/build.mjs) offer only
 * `default` (= module.exports). The real bindings that import serialport and onoff lazily use this so both work.
 */
export function cjsExport<T>(mod: unknown, name: string): T | undefined {
  const m = mod as Record<string, unknown> & { default?: Record<string, unknown> };
  return (m[name] ?? m.default?.[name]) as T | undefined;
}
