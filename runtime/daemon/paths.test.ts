// Where the daemon keeps things (docs/ARCHITECTURE.md "Paths and environment"): home and socket precedence, agent homes, the package root.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { agentHome, packageRoot, resolveHome, resolveSocket } from './paths.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

t.test('resolveHome: OPENSTARRY_HOME, else /var/lib/openstarry as root, else ./.openstarry', async (t) => {
  t.equal(resolveHome({}, true, '/srv/x'), '/var/lib/openstarry', 'root default');
  t.equal(resolveHome({}, false, '/home/pi/proj'), '/home/pi/proj/.openstarry', 'non-root default is under cwd');
  t.equal(resolveHome({ OPENSTARRY_HOME: '/data/os' }, true, '/srv/x'), '/data/os', 'env wins as root');
  t.equal(resolveHome({ OPENSTARRY_HOME: '/data/os' }, false, '/srv/x'), '/data/os', 'env wins as non-root');
  t.equal(resolveHome({ OPENSTARRY_HOME: 'rel/home' }, false, '/home/pi'), '/home/pi/rel/home', 'relative env resolves against cwd');
  t.equal(resolveHome({ OPENSTARRY_HOME: '' }, true, '/srv/x'), '/var/lib/openstarry', 'empty env counts as unset');
  t.equal(resolveHome({ OPENSTARRY_HOME: '' }, false, '/srv/x'), '/srv/x/.openstarry');
});

t.test('resolveHome defaults read the real process', async (t) => {
  const expected = process.getuid?.() === 0 ? '/var/lib/openstarry' : path.resolve('.openstarry');
  t.equal(resolveHome({}), expected);
});

t.test('resolveSocket: explicit > OPENSTARRY_SOCKET > $home/openstarryd.sock', async (t) => {
  const env = { OPENSTARRY_SOCKET: '/run/openstarry/openstarryd.sock' };
  t.equal(resolveSocket(env, '/var/lib/openstarry', '/tmp/explicit.sock', '/cwd'), '/tmp/explicit.sock', 'explicit wins over env');
  t.equal(resolveSocket(env, '/var/lib/openstarry', undefined, '/cwd'), '/run/openstarry/openstarryd.sock', 'env wins over home');
  t.equal(resolveSocket(env, '/var/lib/openstarry', '', '/cwd'), '/run/openstarry/openstarryd.sock', 'empty explicit counts as unset');
  t.equal(resolveSocket({}, '/var/lib/openstarry', undefined, '/cwd'), '/var/lib/openstarry/openstarryd.sock', 'default under home');
  t.equal(resolveSocket({ OPENSTARRY_SOCKET: '' }, '/h', undefined, '/cwd'), '/h/openstarryd.sock', 'empty env counts as unset');
  t.equal(resolveSocket({}, '/h', 'sock/d.sock', '/home/pi'), '/home/pi/sock/d.sock', 'relative explicit resolves against cwd');
  t.equal(resolveSocket({ OPENSTARRY_SOCKET: 'd.sock' }, '/h', undefined, '/home/pi'), '/home/pi/d.sock', 'relative env resolves against cwd');
});

t.test('resolveSocket without a home follows resolveHome of the same env', async (t) => {
  t.equal(resolveSocket({ OPENSTARRY_HOME: '/data/os' }), '/data/os/openstarryd.sock');
});

t.test('agentHome is the agent\'s own folder under the daemon home', async (t) => {
  t.equal(agentHome('/var/lib/openstarry', 'hello-sensor'), '/var/lib/openstarry/agents/hello-sensor');
  t.not(agentHome('/h', 'a'), '/h', 'never the daemon home itself');
});

t.test('packageRoot from a source file and from a bundle in dist/', async (t) => {
  t.equal(packageRoot('file:///opt/openstarry/runtime/daemon/paths.ts'), '/opt/openstarry', 'source: two levels up');
  t.equal(packageRoot('file:///usr/lib/node_modules/openstarry/dist/openstarryd.js'), '/usr/lib/node_modules/openstarry', 'dist: one level up');
  t.equal(packageRoot(pathToFileURL('/home/pi/My Projects/openstarry/runtime/daemon/paths.ts').href), '/home/pi/My Projects/openstarry', 'percent-encoded characters are decoded');
  t.equal(packageRoot(pathToFileURL('/opt/open starry/dist/openstarryd.js').href), '/opt/open starry');
  t.equal(packageRoot(), REPO, 'the default is this checkout');
});
