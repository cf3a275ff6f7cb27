/* global module */
// The layer order (docs/ARCHITECTURE.md "Layers"), checked by `npm run lint` after eslint: a module may import
// modules of its own layer (where listed below) and of the layers under it, never of a layer above. An arrow that
// runs up, an import cycle, or production code importing a test fails the lint, and so CI (.ci/run runs lint).
//
// The order is written down once, here, top (entry points) to bottom (the base); each entry is a path regex.
const LAYERS = [
  { name: 'entry', paths: ['^runtime/cli/', '^runtime/e2e/', '^scripts/', '^agents/'] },
  { name: 'daemon', paths: ['^runtime/daemon/'] },
  { name: 'services', paths: ['^runtime/control/', '^runtime/link/', '^runtime/orchestrator/', '^runtime/dashboard/', '^runtime/homeassistant/', '^runtime/deploy/(?!deploy-types\\.ts$)', '^runtime/fleet/'] },
  { name: 'domain', paths: ['^runtime/supervisor/', '^runtime/state/'] },
  { name: 'isolation', paths: ['^runtime/isolation/'] },
  // Below the isolation drivers: they spawn an agent from its Blueprint (isolation-driver.ts).
  { name: 'design', paths: ['^runtime/design/'] },
  { name: 'hal', paths: ['^hal/'] },
  { name: 'drivers', paths: ['^drivers/', '^board-profiles/'] },
  // Below the HAL and the isolation drivers: both take a Logger.
  { name: 'logging', paths: ['^runtime/logging/'] },
  // runtime/deploy/deploy-types.ts is types only, shared by the bundle (design), the deployer and the fleet parts and
  // the control plane's deploy methods (issue 16): it sits at the base so each imports it downward.
  { name: 'base', paths: ['^runtime/core/', '^runtime/[^/]+$', '^runtime/deploy/deploy-types\\.ts$'] },
];

// Imports between folders of one layer: only these (from -> to). Everything else in a layer stays apart.
const SIDEWAYS = [
  // The MQTT remote commands run through the control plane's dispatcher and its wire types; so do the rules'
  // dashboard and agent-lifecycle sources. The control plane imports neither of them.
  ['^runtime/link/', '^runtime/control/'],
  ['^runtime/orchestrator/', '^runtime/control/'],
  // The orchestration hub wires the MQTT link's incoming events into the rules and their actions out to MQTT
  // (runtime/orchestrator/, issue 14); the link imports nothing of the orchestrator.
  ['^runtime/orchestrator/', '^runtime/link/'],
  // The orchestration hub builds the dashboard's sources (the state projection, rule stats); the dashboard serves
  // what it is given and imports nothing of the orchestrator.
  ['^runtime/orchestrator/', '^runtime/dashboard/'],
  // Home Assistant discovery (issue 15) publishes and subscribes through the MQTT link (so a reconnect resubscribes
  // its command topics) and reads durations with the orchestrator's one parser (duration.ts); neither imports it.
  ['^runtime/homeassistant/', '^runtime/link/'],
  ['^runtime/homeassistant/', '^runtime/orchestrator/'],
  // Fleet deployments (issue 16) subscribe their documents and publish their status through the MQTT link (a
  // reconnect resubscribes, the status waits in its persisted queue); the link imports nothing of the fleet.
  ['^runtime/fleet/', '^runtime/link/'],
  // ... and hand a verified bundle to the board's Deployer (runtime/deploy/deploy-types.ts; its version order, semver.ts).
  ['^runtime/fleet/', '^runtime/deploy/'],
  // The base: runtime/*.ts may use runtime/core; runtime/core imports nothing outside itself (it runs in the isolate).
  ['^runtime/[^/]+$', '^runtime/core/'],
];

// Tests (and their support files) sit above everything: they may import any layer's code and test support.
const TESTS = '(\\.test\\.ts|\\.test-support\\.ts|/test-kit\\.ts|/test-support/)';

const re = (paths) => `(${paths.join('|')})`;

const upward = LAYERS.slice(1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  severity: 'error',
  comment: `${layer.name} imports only downward (docs/ARCHITECTURE.md "Layers"): not ${LAYERS.slice(0, i + 1).map((l) => l.name).join(', ')}`,
  from: { path: re(layer.paths), pathNot: TESTS },
  to: { path: re(LAYERS.slice(0, i + 1).flatMap((l) => l.paths)) },
}));

const sideways = LAYERS.flatMap((layer) =>
  layer.paths.map((from) => {
    const others = layer.paths.filter((p) => p !== from);
    const allowed = SIDEWAYS.filter(([f]) => f === from).map(([, t]) => t);
    return {
      name: `layer-${layer.name}-sideways`,
      severity: 'error',
      comment: `between folders of the ${layer.name} layer only the imports listed in SIDEWAYS (docs/ARCHITECTURE.md "Layers")`,
      from: { path: from, pathNot: TESTS },
      to: allowed.length ? { path: re(others), pathNot: re(allowed) } : { path: re(others) },
    };
  }),
).filter((rule) => rule.to.path !== '()');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward,
    ...sideways,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import cycle: move the shared declaration down into a module both can import',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-in-production',
      severity: 'error',
      comment: 'production code may not import tests or test support',
      from: { path: '^(runtime|hal|drivers|board-profiles)/', pathNot: TESTS },
      to: { path: TESTS },
    },
  ],
  options: {
    includeOnly: '^(runtime|hal|drivers|board-profiles|scripts|agents)/',
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: an upward `import type` is an upward arrow all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
