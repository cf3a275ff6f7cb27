// Board detection against fixture device trees (docs/ARCHITECTURE.md "HAL and devices"): /proc/device-tree/{model,compatible} are
// NUL-terminated (and NUL-separated) strings; no match or no device tree means the simulated board.
// The model/compatible strings are the ones the boards' device trees carry (see each profile's sources).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t, { type Test } from 'tap';
import { PROFILES_DIR, detectAndLoadBoard, detectBoard, loadProfiles } from './detect.ts';
import { BoardErrorCode } from './errors.ts';
import type { BoardProfile } from './profile-schema.ts';

const deviceTree = (model: string | undefined, compatible: string | undefined) => ({
  proc: { 'device-tree': { ...(model === undefined ? {} : { model }), ...(compatible === undefined ? {} : { compatible }) } },
});

const shipped = await loadProfiles();
const simText = await readFile(path.join(PROFILES_DIR, 'sim.json'), 'utf8');

/** A valid fixture profile: the sim profile's hardware under another name and match. */
const fixture = (name: string, model: string[], compatible: string[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ...JSON.parse(simText), devices: [], name, title: `${name} board`, match: { model, compatible }, ...extra });

const detectIn = async (tt: Test, tree: ReturnType<typeof deviceTree>, profiles: Map<string, BoardProfile> = shipped) =>
  detectBoard('auto', profiles, tt.testdir(tree));

interface RealBoard { board: string; model: string; compatible: string[] }
const REAL: RealBoard[] = [
  { board: 'rpi-3b-plus', model: 'Raspberry Pi 3 Model B Plus Rev 1.3', compatible: ['raspberrypi,3-model-b-plus', 'brcm,bcm2837'] },
  { board: 'rpi-zero-2-w', model: 'Raspberry Pi Zero 2 W Rev 1.0', compatible: ['raspberrypi,model-zero-2-w', 'brcm,bcm2837'] },
  { board: 'rpi-4b', model: 'Raspberry Pi 4 Model B Rev 1.4', compatible: ['raspberrypi,4-model-b', 'brcm,bcm2711'] },
  { board: 'rpi-4b', model: 'Raspberry Pi 4 Model B Rev 1.5', compatible: ['raspberrypi,4-model-b', 'brcm,bcm2711'] },
  { board: 'rpi-5', model: 'Raspberry Pi 5 Model B Rev 1.0', compatible: ['raspberrypi,5-model-b', 'brcm,bcm2712'] },
  { board: 'jetson-nano', model: 'NVIDIA Jetson Nano Developer Kit', compatible: ['nvidia,p3449-0000-b00+p3448-0000-b00', 'nvidia,jetson-nano', 'nvidia,tegra210'] },
  { board: 'jetson-nano', model: 'NVIDIA Jetson Nano Developer Kit', compatible: ['nvidia,p3450-0000', 'nvidia,tegra210'] },
  { board: 'jetson-orin-nano', model: 'NVIDIA Jetson Orin Nano Developer Kit', compatible: ['nvidia,p3768-0000+p3767-0005', 'nvidia,p3767-0005', 'nvidia,tegra234'] },
  { board: 'jetson-orin-nano', model: 'NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super', compatible: ['nvidia,p3768-0000+p3767-0005-super', 'nvidia,p3767-0005', 'nvidia,tegra234'] },
  { board: 'jetson-orin-nano', model: 'NVIDIA Orin Nano Developer Kit', compatible: ['nvidia,p3768-0000+p3767-0003', 'nvidia,p3767-0003', 'nvidia,tegra234'] },
];
const nul = (strings: string[]) => strings.map((s) => `${s}\0`).join('');

t.test('every real board is detected by its model, and by its compatible list alone', async (t) => {
  for (const b of REAL) {
    const byModel = await detectIn(t, deviceTree(`${b.model}\0`, nul(b.compatible)));
    t.equal(byModel.profile.name, b.board, b.model);
    t.equal(byModel.detectedBy, 'device-tree');
    t.equal(byModel.model, b.model, 'model reported without the NUL');
    t.same(byModel.compatible, b.compatible);
    t.equal(byModel.matchedBy?.kind, 'model');
    const byCompatible = await detectIn(t, deviceTree(undefined, nul(b.compatible)));
    t.equal(byCompatible.profile.name, b.board, `${b.model}, compatible only`);
    t.same(byCompatible.matchedBy, { kind: 'compatible', entry: b.compatible[0] }, 'the board entry decides, not the SoC entry');
    t.notOk('model' in byCompatible);
  }
});

t.test('3B+ and Zero 2 W share "brcm,bcm2837": the board-specific entry wins over the shared SoC entry', async (t) => {
  const zero = await detectIn(t, deviceTree(undefined, nul(['raspberrypi,model-zero-2-w', 'brcm,bcm2837'])));
  t.equal(zero.profile.name, 'rpi-zero-2-w');
  t.same(zero.alternatives, ['rpi-3b-plus'], 'the SoC-level match of the other profile is reported');
  const plus = await detectIn(t, deviceTree('Raspberry Pi 3 Model B Plus Rev 1.3\0', nul(['raspberrypi,3-model-b-plus', 'brcm,bcm2837'])));
  t.equal(plus.profile.name, 'rpi-3b-plus');
  t.same(plus.alternatives, ['rpi-zero-2-w']);
  // Map order must not matter: the same answers with the profiles inserted in reverse.
  const reversed = new Map([...shipped.entries()].reverse());
  t.equal((await detectIn(t, deviceTree(undefined, nul(['raspberrypi,model-zero-2-w', 'brcm,bcm2837'])), reversed)).profile.name, 'rpi-zero-2-w');
});

t.test('an unlisted board with a shared SoC entry: tie broken by profile name, ambiguity reported', async (t) => {
  const tree = deviceTree('Raspberry Pi 3 Model B Rev 1.2\0', nul(['raspberrypi,3-model-b', 'brcm,bcm2837']));
  for (const profiles of [shipped, new Map([...shipped.entries()].reverse())]) {
    const d = await detectIn(t, tree, profiles);
    t.equal(d.profile.name, 'rpi-3b-plus', '"Raspberry Pi 3 Model B" is not a prefix match for the B+');
    t.same(d.matchedBy, { kind: 'compatible', entry: 'brcm,bcm2837' });
    t.same(d.alternatives, ['rpi-zero-2-w']);
  }
  const pi400 = await detectIn(t, deviceTree('Raspberry Pi 400 Rev 1.0\0', nul(['raspberrypi,400', 'brcm,bcm2711'])));
  t.equal(pi400.profile.name, 'rpi-4b', 'same header, found through the SoC entry');
  t.same(pi400.alternatives, []);
});

t.test('Jetsons that share an SoC with a shipped profile but not its header fall back to sim', async (t) => {
  const agx = await detectIn(t, deviceTree('NVIDIA Jetson AGX Orin Developer Kit\0', nul(['nvidia,p3737-0000+p3701-0005', 'nvidia,p3701-0005', 'nvidia,tegra234'])));
  t.equal(agx.profile.name, 'sim');
  t.equal(agx.detectedBy, 'fallback');
  t.equal(agx.model, 'NVIDIA Jetson AGX Orin Developer Kit', 'what was seen is reported for the status line');
  const tx1 = await detectIn(t, deviceTree('jetson_tx1\0', nul(['nvidia,p2371-2180', 'nvidia,tegra210'])));
  t.equal(tx1.profile.name, 'sim');
});

t.test('precedence with fixture profiles: model prefix > compatible position; the longest prefix wins', async (t) => {
  const root = t.testdir({
    ...deviceTree('Acme Board Pro Rev 2\0', nul(['acme,board-pro', 'acme,soc'])),
    profiles: {
      'sim.json': simText,
      'by-compat.json': fixture('by-compat', [], ['acme,board-pro']),
      'by-soc.json': fixture('by-soc', [], ['acme,soc']),
      'short.json': fixture('short', ['Acme Board'], []),
      'long.json': fixture('long', ['Acme Board Pro'], []),
    },
  });
  const d = await detectBoard('auto', await loadProfiles(path.join(root, 'profiles')), root);
  t.equal(d.profile.name, 'long');
  t.same(d.matchedBy, { kind: 'model', entry: 'Acme Board Pro' });
  t.same(d.alternatives, ['short', 'by-compat', 'by-soc']);
});

t.test('compatible entries match exactly, not as substrings; a model prefix must be a prefix', async (t) => {
  const root = t.testdir({
    ...deviceTree('Raspberry Pi 4 Model B Rev 1.5\0', nul(['raspberrypi,4-model-b', 'brcm,bcm2711'])),
    profiles: { 'sim.json': simText, 'other.json': fixture('other', ['Pi 4'], ['brcm,bcm27', 'bcm2711']) },
  });
  const d = await detectBoard('auto', await loadProfiles(path.join(root, 'profiles')), root);
  t.equal(d.profile.name, 'sim');
  t.equal(d.detectedBy, 'fallback');
});

t.test('unknown board: sim, fallback, with the model and compatible list it saw', async (t) => {
  const d = await detectIn(t, deviceTree('Some Custom Carrier Board\0', nul(['acme,carrier', 'acme,soc'])));
  t.equal(d.profile.name, 'sim');
  t.equal(d.detectedBy, 'fallback');
  t.equal(d.model, 'Some Custom Carrier Board');
  t.same(d.compatible, ['acme,carrier', 'acme,soc']);
  t.notOk('matchedBy' in d);
});

t.test('no device tree at all: sim, fallback, nothing seen', async (t) => {
  const d = await detectIn(t, { proc: {} } as ReturnType<typeof deviceTree>);
  t.equal(d.profile.name, 'sim');
  t.equal(d.detectedBy, 'fallback');
  t.notOk('model' in d);
  t.notOk('compatible' in d);
});

t.test('a forced board name wins over the device tree, and needs no device tree', async (t) => {
  const root = t.testdir(deviceTree('Raspberry Pi 4 Model B Rev 1.4\0', nul(['raspberrypi,4-model-b', 'brcm,bcm2711'])));
  const sim = await detectBoard('sim', shipped, root);
  t.equal(sim.profile.name, 'sim');
  t.equal(sim.detectedBy, 'config');
  t.notOk('model' in sim);
  const orin = await detectBoard('jetson-orin-nano', shipped, path.join(root, 'no-device-tree-here'));
  t.equal(orin.profile.name, 'jetson-orin-nano');
  t.equal(orin.detectedBy, 'config');
});

t.test('an unknown forced name is an error listing the known names', async (t) => {
  const root = t.testdir({ 'sim.json': simText, 'rpi-4b.json': fixture('rpi-4b', ['Raspberry Pi 4'], []) });
  await t.rejects(detectBoard('jetson-orin', await loadProfiles(root), root), {
    code: BoardErrorCode.BOARD_UNKNOWN,
    message: 'board "jetson-orin" has no profile (known: rpi-4b, sim)',
  });
});

t.test('profiles without sim are refused', async (t) => {
  const root = t.testdir({ 'rpi-4b.json': fixture('rpi-4b', ['Raspberry Pi 4'], []) });
  await t.rejects(detectBoard('auto', await loadProfiles(root), root), { code: BoardErrorCode.BOARD_UNKNOWN, message: /"sim" is missing/ });
});

t.test('invalid profile JSON is an error naming the file', async (t) => {
  const root = t.testdir({ 'sim.json': '{ "name": "sim", ', 'notes.txt': 'ignored' });
  const err = (await loadProfiles(root).catch((e: unknown) => e)) as Error & { code?: string };
  t.equal(err.code, BoardErrorCode.PROFILE_INVALID);
  t.ok(err.message.startsWith(`${path.join(root, 'sim.json')}: not valid JSON`), err.message);
});

t.test('a profile failing the schema is an error naming the file and every field', async (t) => {
  const bad = JSON.parse(fixture('bad', [], []));
  bad.name = 'Bad Name';
  delete bad.match.compatible;
  bad.gpio.header[0].line = 99;
  bad.cammera = {};
  const root = t.testdir({ 'sim.json': simText, 'bad.json': JSON.stringify(bad) });
  const err = (await loadProfiles(root).catch((e: unknown) => e)) as Error & { code?: string; details?: { problems?: { path: string }[] } };
  t.equal(err.code, BoardErrorCode.PROFILE_INVALID);
  t.ok(err.message.startsWith(`${path.join(root, 'bad.json')}: `), err.message);
  const paths = err.details?.problems?.map((p) => p.path) ?? [];
  t.ok(paths.includes('name'), 'name');
  t.ok(paths.includes('match.compatible'), 'missing field');
  t.ok(paths.includes('cammera'), 'the unknown key itself');
  t.match(err.message, /name: /);
  t.match(err.message, /cammera: unknown key/);
});

t.test('cross-field problems name the field too (checked once the shape is valid)', async (t) => {
  const bad = JSON.parse(fixture('bad', [], []));
  bad.gpio.header[0].line = 99;
  const root = t.testdir({ 'sim.json': simText, 'bad.json': JSON.stringify(bad) });
  await t.rejects(loadProfiles(root), { message: /bad\.json: gpio\.header\.0\.line: line 99 is out of range for "sim-gpio" \(54 lines\)/ });
});

t.test('a profile name must match its file name; only *.json files count', async (t) => {
  const root = t.testdir({ 'sim.json': simText, 'cm4.json': fixture('bcm2711-generic', [], ['brcm,bcm2711']) });
  await t.rejects(loadProfiles(root), { code: BoardErrorCode.PROFILE_INVALID, message: /cm4\.json: name: "bcm2711-generic" must match the file name "cm4\.json"/ });
  const ok = t.testdir({ 'sim.json': simText, 'x.json': fixture('x', [], []), 'README.md': '# profiles', 'y.json.bak': '{' });
  t.same([...(await loadProfiles(ok)).keys()], ['sim', 'x']);
});

t.test('the daemon\'s board phase (detectAndLoadBoard) chooses as detectBoard over every validated profile does', async (t) => {
  for (const b of REAL) {
    const root = t.testdir(deviceTree(`${b.model}\0`, nul(b.compatible)));
    const full = await detectBoard('auto', shipped, root);
    t.same(await detectAndLoadBoard('auto', PROFILES_DIR, root), full, b.model);
    t.same(await detectAndLoadBoard('auto', PROFILES_DIR, path.join(root, 'none')), await detectBoard('auto', shipped, path.join(root, 'none')), 'no device tree');
  }
  t.same(await detectAndLoadBoard('jetson-nano', PROFILES_DIR, t.testdir({})), await detectBoard('jetson-nano', shipped, t.testdir({})), 'forced');
});

t.test('detectAndLoadBoard validates the chosen profile in full; another board\'s broken profile does not stop it', async (t) => {
  const bad = JSON.parse(fixture('acme', ['Acme Board'], []));
  bad.gpio.header[0].line = 99;
  const root = t.testdir({ ...deviceTree('Acme Board\0', undefined), profiles: { 'sim.json': simText, 'acme.json': JSON.stringify(bad) } });
  const err = (await detectAndLoadBoard('auto', path.join(root, 'profiles'), root).catch((e: unknown) => e)) as Error & { code?: string };
  t.equal(err.code, BoardErrorCode.PROFILE_INVALID, 'the chosen one fails the schema');
  t.ok(err.message.startsWith(`${path.join(root, 'profiles', 'acme.json')}: `), err.message);
  const elsewhere = await detectAndLoadBoard('auto', path.join(root, 'profiles'), path.join(root, 'none'));
  t.equal(elsewhere.profile.name, 'sim', 'on another board the broken profile is not read past its match section');
  t.same(elsewhere.profile, shipped.get('sim'));
  const misnamed = t.testdir({ ...deviceTree('Acme Board\0', undefined), profiles: { 'sim.json': simText, 'other.json': fixture('acme', ['Acme Board'], []) } });
  await t.rejects(detectAndLoadBoard('auto', path.join(misnamed, 'profiles'), misnamed), { code: BoardErrorCode.PROFILE_INVALID, message: /"acme" must match the file name "other.json"/ });
});

t.test('detectAndLoadBoard: a profile whose name or match cannot be read is an error naming the file, as are JSON errors', async (t) => {
  const noMatch = JSON.parse(fixture('acme', [], []));
  delete noMatch.match;
  const root = t.testdir({ 'sim.json': simText, 'acme.json': JSON.stringify(noMatch) });
  await t.rejects(detectAndLoadBoard('auto', root, root), { code: BoardErrorCode.PROFILE_INVALID, message: new RegExp(`^${path.join(root, 'acme.json')}: match`) });
  const broken = t.testdir({ 'sim.json': '{ "name": "sim", ' });
  await t.rejects(detectAndLoadBoard('auto', broken, broken), { code: BoardErrorCode.PROFILE_INVALID, message: /sim\.json: not valid JSON/ });
  const noSim = t.testdir({ 'rpi-4b.json': fixture('rpi-4b', ['Raspberry Pi 4'], []) });
  await t.rejects(detectAndLoadBoard('auto', noSim, noSim), { code: BoardErrorCode.BOARD_UNKNOWN, message: /"sim" is missing/ });
});
