import t from 'tap';
import { compareVersions } from './semver.ts';

t.test('semver precedence (semver.org §11)', async (t) => {
  const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0'];
  for (let i = 1; i < ordered.length; i++) {
    t.ok(compareVersions(ordered[i - 1]!, ordered[i]!) < 0, `${ordered[i - 1]} < ${ordered[i]}`);
    t.ok(compareVersions(ordered[i]!, ordered[i - 1]!) > 0, `${ordered[i]} > ${ordered[i - 1]}`);
  }
  t.equal(compareVersions('1.2.3', '1.2.3'), 0);
  t.equal(compareVersions('1.2.3+build.5', '1.2.3'), 0, 'build metadata does not count');
});
