// Board detection against fixture device trees (DESIGN §4): /proc/device-tree/{model,compatible} are
// NUL-terminated (and NUL-separated) strings; no match or no device tree means the simulated board.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { PROFILES_DIR, detectBoard, loadProfiles } from './detect.ts';

const RPI_MODEL = 'Raspberry Pi 4 Model B Rev 1.5\0';
const RPI_COMPATIBLE = 'raspberrypi,4-model-b\0brcm,bcm2711\0';

const deviceTree = (model: string | undefined, compatible: string | undefined) => ({
  proc: { 'device-tree': { ...(model === undefined ? {} : { model }), ...(compatible === undefined ? {} : { compatible }) } },
});

const profile = (name: string, model: string[], compatible: string[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name, title: `${name} board`, match: { model, compatible }, ...extra });

async function simJson(): Promise<string> {
  return readFile(path.join(PROFILES_DIR, 'sim.json'), 'utf8');
}

t.test('the shipped profiles load and include sim', async (t) => {
  const profiles = await loadProfiles();
  t.ok(profiles.has('sim'));
  t.same(profiles.get('sim')?.match, { model: [], compatible: [] }, 'sim never matches a device tree');
});

t.test('a Raspberry Pi device tree with only the shipped profiles: sim fallback, model reported without the NUL', async (t) => {
  const root = t.testdir(deviceTree(RPI_MODEL, RPI_COMPATIBLE));
  const d = await detectBoard('auto', await loadProfiles(PROFILES_DIR), root);
  t.equal(d.profile.name, 'sim');
  t.equal(d.detectedBy, 'fallback');
  t.equal(d.model, 'Raspberry Pi 4 Model B Rev 1.5');
});

t.test('a fixture profile matching by model prefix is detected', async (t) => {
  const root = t.testdir({
    ...deviceTree(RPI_MODEL, 'something,else\0'),
    profiles: { 'sim.json': await simJson(), 'rpi-4b.json': profile('rpi-4b', ['Raspberry Pi 4 Model B'], ['raspberrypi,4-model-b']), 'jetson.json': profile('jetson-nano', ['NVIDIA Jetson Nano'], ['nvidia,p3450-0000']) },
  });
  const d = await detectBoard('auto', await loadProfiles(path.join(root, 'profiles')), root);
  t.equal(d.profile.name, 'rpi-4b');
  t.equal(d.detectedBy, 'device-tree');
  t.equal(d.model, 'Raspberry Pi 4 Model B Rev 1.5');
});

t.test('a fixture profile matching by one compatible entry is detected (not the first entry, no model match)', async (t) => {
  const root = t.testdir({
    ...deviceTree('Some Custom Carrier Board\0', RPI_COMPATIBLE),
    profiles: { 'sim.json': await simJson(), 'cm4.json': profile('bcm2711-generic', ['Not This Model'], ['brcm,bcm2711']) },
  });
  const d = await detectBoard('auto', await loadProfiles(path.join(root, 'profiles')), root);
  t.equal(d.profile.name, 'bcm2711-generic');
  t.equal(d.detectedBy, 'device-tree');
  t.equal(d.model, 'Some Custom Carrier Board');
});

t.test('compatible entries match exactly, not as substrings; a model prefix must be a prefix', async (t) => {
  const root = t.testdir({
    ...deviceTree(RPI_MODEL, RPI_COMPATIBLE),
    profiles: { 'sim.json': await simJson(), 'other.json': profile('other', ['Pi 4'], ['brcm,bcm27', 'bcm2711']) },
  });
  const d = await detectBoard('auto', await loadProfiles(path.join(root, 'profiles')), root);
  t.equal(d.profile.name, 'sim');
  t.equal(d.detectedBy, 'fallback');
});

t.test('compatible alone (no model file) is enough, and then no model is reported', async (t) => {
  const root = t.testdir({
    ...deviceTree(undefined, RPI_COMPATIBLE),
    profiles: { 'sim.json': await simJson(), 'rpi-4b.json': profile('rpi-4b', ['Raspberry Pi 4 Model B'], ['raspberrypi,4-model-b']) },
  });
  const d = await detectBoard('auto', await loadProfiles(path.join(root, 'profiles')), root);
  t.equal(d.profile.name, 'rpi-4b');
  t.notOk('model' in d);
});

t.test('no device tree at all: sim, fallback, no model', async (t) => {
  const root = t.testdir({ proc: {} });
  const d = await detectBoard('auto', await loadProfiles(), root);
  t.equal(d.profile.name, 'sim');
  t.equal(d.detectedBy, 'fallback');
  t.notOk('model' in d);
});

t.test('a forced board name wins over the device tree', async (t) => {
  const root = t.testdir({
    ...deviceTree(RPI_MODEL, RPI_COMPATIBLE),
    profiles: { 'sim.json': await simJson(), 'rpi-4b.json': profile('rpi-4b', ['Raspberry Pi 4 Model B'], []) },
  });
  const profiles = await loadProfiles(path.join(root, 'profiles'));
  const sim = await detectBoard('sim', profiles, root);
  t.equal(sim.profile.name, 'sim');
  t.equal(sim.detectedBy, 'config');
  t.notOk('model' in sim);
  const rpi = await detectBoard('rpi-4b', profiles, path.join(root, 'no-device-tree-here'));
  t.equal(rpi.profile.name, 'rpi-4b', 'forcing works without any device tree');
  t.equal(rpi.detectedBy, 'config');
});

t.test('an unknown forced name is an error listing the known names', async (t) => {
  const root = t.testdir({ 'sim.json': await simJson(), 'rpi-4b.json': profile('rpi-4b', ['Raspberry Pi 4'], []) });
  await t.rejects(detectBoard('jetson-orin', await loadProfiles(root), root), { message: 'board "jetson-orin" has no profile (known: rpi-4b, sim)' });
});

t.test('profiles without sim are refused', async (t) => {
  const root = t.testdir({ 'rpi-4b.json': profile('rpi-4b', ['Raspberry Pi 4'], []) });
  await t.rejects(detectBoard('auto', await loadProfiles(root), root), { message: /"sim" is missing/ });
});

t.test('invalid profile JSON is an error naming the file', async (t) => {
  const root = t.testdir({ 'sim.json': '{ "name": "sim", ', 'notes.txt': 'ignored' });
  const err = await loadProfiles(root).catch((e: unknown) => e);
  t.ok(err instanceof Error);
  t.ok((err as Error).message.startsWith(`${path.join(root, 'sim.json')}: not valid JSON`), (err as Error).message);
});

t.test('a profile failing the schema is an error naming the file and field', async (t) => {
  const root = t.testdir({ 'sim.json': await simJson(), 'bad.json': JSON.stringify({ name: 'Bad Name', title: 'x', match: { model: [] } }) });
  const err = await loadProfiles(root).catch((e: unknown) => e);
  t.ok(err instanceof Error);
  const message = (err as Error).message;
  t.ok(message.startsWith(`${path.join(root, 'bad.json')}: `), message);
  t.match(message, /name: /);
  t.match(message, /match\.compatible: /);
});

t.test('only *.json files count, and extra profile keys are kept', async (t) => {
  const root = t.testdir({ 'sim.json': await simJson(), 'x.json': profile('x', [], [], { pins: { gpio17: 11 } }), 'README.md': '# profiles', 'y.json.bak': '{' });
  const profiles = await loadProfiles(root);
  t.same([...profiles.keys()], ['sim', 'x']);
  t.same((profiles.get('x') as Record<string, unknown>).pins, { gpio17: 11 });
});
