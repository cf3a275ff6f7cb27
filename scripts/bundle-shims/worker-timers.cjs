// Stands in for the npm package worker-timers in the bundle (scripts/build.mjs, `alias`). mqtt.js requires it at
// load for one option, `timerVariant: 'worker'`: timers run in a Web Worker so a browser tab in the background does
// not throttle the keepalive. In Node it never chooses that variant (the link leaves timerVariant unset, 'auto'), yet
// the package and its helpers (broker-factory, @babel/runtime) would run at every boot. These two functions are
// what mqtt.js takes from it, on Node's own timers.
/* global exports */
'use strict';
exports.setInterval = (fn, ms) => setInterval(fn, ms);
exports.clearInterval = (timer) => clearInterval(timer);
