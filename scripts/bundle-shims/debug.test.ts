// The bundle's stand-in for the `debug` package (debug.cjs, scripts/build.mjs `alias`): without DEBUG its loggers are
// silent no-ops with the package's shape and node:tty is never loaded; with DEBUG set it is the real package.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';

const SHIM = path.join(import.meta.dirname, 'debug.cjs');

/** Runs `body` in a fresh node with the shim required as `createDebug`. */
function run(body: string, debug: string | undefined): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUG_COLORS: 'no' };
  if (debug === undefined) delete env.DEBUG;
  else env.DEBUG = debug;
  return spawnSync(process.execPath, ['-e', `const createDebug = require(${JSON.stringify(SHIM)});\n${body}`], { encoding: 'utf8', env });
}

t.test('without DEBUG: silent loggers with the shape mqtt.js, mqtt-packet and serialport use; node:tty not loaded', async (t) => {
  const r = run(
    [
      "const log = createDebug('mqttjs:client');",
      "log('connecting %s', 'x');",
      "const sub = log.extend('sub');",
      "sub('y');",
      "console.log(JSON.stringify({ enabled: log.enabled, namespace: log.namespace, sub: sub.namespace, viaDefault: createDebug.default === createDebug, anyEnabled: createDebug.enabled('mqttjs:client'), tty: process.moduleLoadList.includes('NativeModule tty') }));",
    ].join('\n'),
    undefined,
  );
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '');
  t.same(JSON.parse(r.stdout), { enabled: false, namespace: 'mqttjs:client', sub: 'mqttjs:client:sub', viaDefault: true, anyEnabled: false, tty: false });
});

t.test('with DEBUG set: the real package, which writes the enabled namespaces to stderr', async (t) => {
  const r = run("createDebug('mqttjs:client')('hello %s', 'board'); createDebug('other')('hidden');", 'mqttjs*');
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /mqttjs:client hello board/);
  t.notMatch(r.stderr, /hidden/);
});
