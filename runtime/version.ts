/** The daemon's version, reported by `openstarry status` (kept in step with package.json by scripts/build.mjs). */
export const VERSION = '0.1.0';
