/**
 * The isolation drivers an agent can ask for (README "What it is", manifest `isolation`), in a module of its own without zod: the CLI checks
 * `spawn --isolation` against it and must not load the manifest schema to do so (issue 12: an instant CLI).
 */
export const ISOLATIONS = ['worker', 'process', 'docker', 'wasm'] as const;
