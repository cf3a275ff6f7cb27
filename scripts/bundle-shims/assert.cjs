// Stands in for node:assert in the bundle (scripts/build.mjs, `alias`). mqemitter, under the embedded broker, requires
// it at load and calls it only as `assert(value)` on its subscribe/emit arguments. Loading node:assert at boot compiles
// its error machinery (AssertionError, the diff and colour helpers: five of Node's internal modules) for a check that
// never fails: ~0.05 s of every boot under qemu-aarch64 when measured with the V8 options on the command line (they
// have since moved after READY, README "Performance"; the modules are still not needed at boot) (issue 12). Here the real module is loaded the first time
// an assertion fails or another of its functions is used, and does the work, so behaviour is Node's own.
/* global module, require */
'use strict';
let real;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS shim, bundled: the banner's require() loads the builtin
const load = () => (real ??= require('node:assert'));
function assert(value, message) {
  // Node's own assert() reports a missing argument and a falsy value; only a truthy one is passed here.
  if (arguments.length === 0 || !value) return load()(...arguments);
  void message;
}
const own = new Set(['length', 'name', 'prototype']);
// `__esModule` is what a bundled CommonJS wrapper (__importDefault) asks first; node:assert has none, so it is
// answered without loading the module.
module.exports = new Proxy(assert, { get: (target, key) => (own.has(key) ? Reflect.get(target, key) : key === '__esModule' ? undefined : load()[key]) });
