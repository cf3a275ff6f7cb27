/** Builds an MqttLink for a test from a config fragment, closed in the test's teardown. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { parseMqttConfig } from './mqtt-config.ts';
import type { MqttConfigInput } from './mqtt-config.ts';
import { MqttLink } from './mqtt-link.ts';
import type { MqttLinkOptions } from './mqtt-link.ts';
import { resolveMqttSettings } from './mqtt-settings.ts';

export async function makeLink(t: Test, config: MqttConfigInput, extra: Partial<MqttLinkOptions> & { deviceId?: string; queueDir?: string } = {}): Promise<MqttLink> {
  const deviceId = extra.deviceId ?? 'dev1';
  // Not t.testdir(): calling that again would wipe what the test already put there (its broker's config).
  let queueDir = extra.queueDir;
  if (queueDir === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'os-link-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    queueDir = path.join(dir, 'queue');
  }
  const settings = await resolveMqttSettings(parseMqttConfig({ startWaitMs: 5000, reconnect: { minMs: 100, maxMs: 500 }, ...config }), deviceId);
  const link = new MqttLink({ settings, deviceId, version: '0.0.0-test', ...extra, queueDir });
  t.teardown(() => link.close());
  return link;
}
