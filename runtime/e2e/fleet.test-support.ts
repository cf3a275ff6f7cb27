/**
 * The fleet e2e tests' common ground (README "Deploying updates"): a real mosquitto, an ed25519 key made by openssl,
 * the shipped master as every board's templates (`climate` arrives only by deployment), and a board's config file.
 * Imported only by runtime/e2e/fleet*.test.ts.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import type { Mosquitto } from '../../scripts/testing/mosquitto.ts';
import type { TestKey } from '../design/bundle-keys.test-support.ts';
import { makeKey } from '../design/bundle-keys.test-support.ts';
import { ROOT } from './harness.ts';

export interface FleetBase {
  broker: Mosquitto;
  key: TestKey;
  /** The boards' templates.dir. */
  templates: string;
}

export async function fleetBase(t: Test, dir: string): Promise<FleetBase> {
  const broker = await startMosquitto({ dir: path.join(dir, 'broker') });
  t.teardown(() => broker.kill());
  const key = await makeKey(dir, 'fleet');
  const templates = path.join(dir, 'templates');
  mkdirSync(path.join(templates, 'master'), { recursive: true });
  for (const f of readdirSync(path.join(ROOT, 'agents', 'master'))) copyFileSync(path.join(ROOT, 'agents', 'master', f), path.join(templates, 'master', f));
  return { broker, key, templates };
}

/** Writes `<dir>/<id>/openstarry.yaml` for a board of `group` (1 s health window, fast reconnects); returns the board's folder and config. */
export function writeBoardConfig(base: FleetBase, dir: string, id: string, group: string, templatesUrl?: string): { dir: string; config: string } {
  const boardDir = path.join(dir, id);
  mkdirSync(boardDir, { recursive: true });
  const config = path.join(boardDir, 'openstarry.yaml');
  writeFileSync(config, [
    `deviceId: ${id}`,
    'templates:', `  dir: ${base.templates}`, ...(templatesUrl !== undefined ? [`  url: ${templatesUrl}`] : []),
    'mqtt:', `  url: ${base.broker.url}`, '  startWaitMs: 2000', '  reconnect: { minMs: 200, maxMs: 1000 }',
    'deploy:', `  trustedKeys: [${base.key.publicFile}]`, `  groups: [${group}]`, '  healthWindowMs: 1000',
    'dashboard: false', '',
  ].join('\n'));
  return { dir: boardDir, config };
}
