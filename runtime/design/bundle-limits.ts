/**
 * Default cap on a signed bundle's size (README "Deploying updates"), checked before a byte of it is parsed. Its own
 * module so the config schema (runtime/deploy/config.ts, on the daemon's boot path) takes the number without the
 * bundle code (issue 12: nothing loaded at boot that is not used). Verifying holds the bytes, their text, the
 * parsed strings and the file buffers at once (about 4x), so 8 MiB costs ~32 MiB at the peak on a board that may
 * have 512 MB; real templates are tens of KB. A template near the 8 MiB code limit (blueprint.ts BLUEPRINT_LIMITS)
 * needs `deploy.maxBundleBytes` raised.
 */
export const DEFAULT_MAX_BUNDLE_BYTES = 8 * 1024 * 1024;
