import t from 'tap';
import { permissionFlag } from './permission-flag.ts';

t.test('the permission flag by runtime version: 20 experimental, 22.13+ and 24 stable', async (t) => {
  t.equal(permissionFlag('v20.20.2'), '--experimental-permission', 'Node 20 knows only the experimental spelling');
  t.equal(permissionFlag('v22.12.0'), '--experimental-permission', '22 before the model was stabilised');
  t.equal(permissionFlag('v22.13.0'), '--permission', '22.13.0 made it stable');
  t.equal(permissionFlag('v22.23.5'), '--permission', 'the packaged runtime');
  t.equal(permissionFlag('v23.4.0'), '--experimental-permission');
  t.equal(permissionFlag('v23.5.0'), '--permission');
  t.equal(permissionFlag('v24.0.0'), '--permission', '24 refuses --experimental-permission');
  t.equal(permissionFlag('v24.22.3'), '--permission');
  t.equal(permissionFlag('26.1.0'), '--permission', 'no leading v');
});

t.test('the running Node: the flag it picks is one it accepts', async (t) => {
  const flag = permissionFlag();
  t.ok(process.allowedNodeEnvironmentFlags.has(flag), `${process.version} accepts ${flag}`);
});

t.test('a string that is not a version is refused with the string quoted', async (t) => {
  t.throws(() => permissionFlag('lts'), { message: 'not a Node version: "lts" (expected e.g. v22.23.5)' });
  t.throws(() => permissionFlag(''), /not a Node version: ""/);
});
