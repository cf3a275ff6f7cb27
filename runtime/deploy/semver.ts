/**
 * Semantic version precedence (semver.org 2.0.0 §11) for the manifest's `version` (runtime/design/manifest-schema.ts:
 * `MAJOR.MINOR.PATCH[-pre][+build]`): a deployment must raise it (issue 16, README "Deploying updates"). Build
 * metadata does not count (§10). Written here rather than pulling in the semver package for one comparison.
 */

/** Negative when a < b, 0 when equal in precedence, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = split(a);
  const [coreB, preB] = split(b);
  for (let i = 0; i < 3; i++) {
    const d = (coreA[i] ?? 0) - (coreB[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  // §11.3: a pre-release has lower precedence than the release itself.
  if (preA === undefined || preB === undefined) return preA === preB ? 0 : preA === undefined ? 1 : -1;
  const idsA = preA.split('.');
  const idsB = preB.split('.');
  for (let i = 0; i < Math.max(idsA.length, idsB.length); i++) {
    const x = idsA[i];
    const y = idsB[i];
    if (x === undefined) return -1; // §11.4.4: fewer fields first
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (nx !== ny) return nx ? -1 : 1; // §11.4.3: numeric identifiers first
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function split(version: string): [number[], string | undefined] {
  const noBuild = version.split('+', 1)[0] ?? '';
  const dash = noBuild.indexOf('-');
  const core = dash < 0 ? noBuild : noBuild.slice(0, dash);
  return [core.split('.').map((n) => Number.parseInt(n, 10) || 0), dash < 0 ? undefined : noBuild.slice(dash + 1)];
}
