// The `deploy` config section (README "Deploying updates"): defaults, bounds, group names, and where the trusted
// keys are read from (the config's list relative to its folder, else the package's OPENSTARRY_TRUSTED_KEYS).
import t from 'tap';
import { parseConfigText } from '../daemon/config-text.ts';
import { DEFAULT_MAX_BUNDLE_BYTES } from '../design/bundle-limits.ts';
import { deployConfigSchema, trustedKeyPaths } from './config.ts';

t.test('defaults and a full section', async (t) => {
  t.same(deployConfigSchema().parse({}), { maxBundleBytes: DEFAULT_MAX_BUNDLE_BYTES, groups: [], healthWindowMs: 30_000 });
  t.same(deployConfigSchema().parse({ trustedKeys: ['keys/'], maxBundleBytes: 65536, groups: ['greenhouses', 'north.row-2'], healthWindowMs: 2000 }), {
    trustedKeys: ['keys/'],
    maxBundleBytes: 65536,
    groups: ['greenhouses', 'north.row-2'],
    healthWindowMs: 2000,
  });
});

t.test('bad values are named by field in the daemon config', async (t) => {
  t.throws(() => parseConfigText('deploy:\n  groups: ["a/b"]\n', '/etc/o.yaml'), { message: /deploy\.groups\.0: must be letters/ });
  t.throws(() => parseConfigText('deploy:\n  groups: ["+"]\n', '/etc/o.yaml'), { message: /deploy\.groups\.0/ });
  t.throws(() => parseConfigText('deploy:\n  maxBundleBytes: 10\n', '/etc/o.yaml'), { message: /deploy\.maxBundleBytes/ });
  t.throws(() => parseConfigText('deploy:\n  trustedKeys: [""]\n', '/etc/o.yaml'), { message: /deploy\.trustedKeys\.0/ });
  t.throws(() => parseConfigText('deploy:\n  healthWindowMs: 500\n', '/etc/o.yaml'), { message: /deploy\.healthWindowMs/ });
  t.throws(() => parseConfigText('deploy:\n  trustedKey: []\n', '/etc/o.yaml'), { message: /deploy\.trustedKey: Unrecognized key/ });
});

t.test('trusted key paths: the config wins, relative to its folder; else the package wrapper\'s variable; else none', async (t) => {
  t.same(trustedKeyPaths({ trustedKeys: ['keys', '/opt/k.pem'] }, '/etc/openstarry', { OPENSTARRY_TRUSTED_KEYS: '/x' }), ['/etc/openstarry/keys', '/opt/k.pem']);
  t.same(trustedKeyPaths({ trustedKeys: [] }, '/etc/openstarry', { OPENSTARRY_TRUSTED_KEYS: '/x' }), [], 'an explicit empty list trusts nothing');
  t.same(trustedKeyPaths({}, '/etc/openstarry', { OPENSTARRY_TRUSTED_KEYS: '/etc/openstarry/trusted-keys' }), ['/etc/openstarry/trusted-keys']);
  t.same(trustedKeyPaths({}, '/etc/openstarry', {}), []);
});
