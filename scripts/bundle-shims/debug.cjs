// Stands in for the `debug` package in the bundle (scripts/build.mjs, `alias`).
/* global module, require */
'use strict';
/**
 * mqtt.js, mqtt-packet and serialport create their loggers with it when they load, and its Node half loads node:tty,
 * node:os and supports-color to decide on colours — in every daemon, for loggers that print nothing unless DEBUG is
 * set (issue 12, README "Performance": together with node:zlib's removal ~0.2 MB of idle RSS on Node 22, and work
 * each boot did for nothing).
 *
 * With DEBUG set when the daemon starts, this is the real package (its code stays in the bundle, evaluated only
 * then), so `DEBUG=mqttjs* openstarryd` still traces mqtt.js. Without it — the default, and always under systemd —
 * every logger is a no-op with the package's shape.
 */
function disabled(namespace) {
  const log = () => undefined;
  log.namespace = String(namespace);
  log.enabled = false;
  log.useColors = false;
  log.color = 0;
  log.diff = 0;
  log.log = () => undefined;
  log.destroy = () => true;
  log.extend = (sub, delimiter) => disabled(`${log.namespace}${typeof delimiter === 'undefined' ? ':' : delimiter}${sub}`);
  return log;
}

function createDebug(namespace) {
  return disabled(namespace);
}
createDebug.debug = createDebug;
createDebug.default = createDebug;
createDebug.enabled = () => false;
createDebug.enable = () => undefined;
createDebug.disable = () => '';
createDebug.coerce = (value) => (value instanceof Error ? value.stack || value.message : value);
createDebug.humanize = (ms) => `${ms}ms`;
createDebug.names = [];
createDebug.skips = [];
createDebug.formatters = {};
createDebug.inspectOpts = {};

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS shim, bundled
module.exports = process.env.DEBUG ? require('../../node_modules/debug/src/index.js') : createDebug;
