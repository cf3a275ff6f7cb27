// The packaged /etc/openstarry/openstarry.yaml (scripts/package/debian/openstarry.yaml), checked with the
// daemon's real config loader: as shipped (every line commented) it loads as the defaults; every key of README's
// Configuration section is in it; and with every setting uncommented it is still a valid config, so the
// examples cannot drift from the schema unnoticed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { loadConfig } from '../../runtime/daemon/config-loader.ts';
import { parseConfigText } from '../../runtime/daemon/config-text.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFFILE = path.join(ROOT, 'scripts', 'package', 'debian', 'openstarry.yaml');

/** `#key: value` and `#  nested: value` are settings; `# text` and `#` alone are explanations. */
export function uncomment(text: string): string {
  return text
    .split('\n')
    .map((line) => (/^#(\S| {2})/.test(line) ? line.slice(1) : line))
    .join('\n');
}

function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

t.test('as shipped, every line is a comment and the file loads as the defaults', async (t) => {
  const text = readFileSync(CONFFILE, 'utf8');
  t.same(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')), [], 'no active line');
  const loaded = await loadConfig(CONFFILE, {});
  const defaults = await loadConfig(undefined, {});
  t.same(loaded.config, defaults.config);
  t.equal(loaded.file, CONFFILE);
});

t.test('every key of README\'s Configuration section is in it, and uncommented it is a valid config', async (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));
  const documented = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) => keyPaths(parse(m[1]!)));
  t.ok(documented.includes('mqtt.passwordFile') && documented.includes('devices'), 'README keys were found');
  const full = uncomment(readFileSync(CONFFILE, 'utf8'));
  const shipped = keyPaths(parse(full));
  t.same(documented.filter((k) => !shipped.includes(k)), [], 'no README key is missing');
  t.doesNotThrow(() => parseConfigText(full, CONFFILE), 'the uncommented file passes the schema');
});

t.test('uncommenting tells settings from explanations', async (t) => {
  t.equal(uncomment('# why\n#key: 1\n#  nested: 2\n#\n'), '# why\nkey: 1\n  nested: 2\n#\n');
});
