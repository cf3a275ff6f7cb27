/**
 * Freezes a plain data value and everything in it (a manifest's config, a blueprint): spec 002 "configuration
 * immutability". Pure, so the daemon, every isolate host and the QuickJS runtime share this one.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
