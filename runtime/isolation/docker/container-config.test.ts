// What an agent container is created with: the security settings and the DI protocol, checked without an engine.
import t from 'tap';
import type { Test } from 'tap';
import { loadBlueprint } from '../../design/blueprint.ts';
import { DEFAULT_CONTAINER_LIMITS, LABELS, containerCreateOptions, grantsNetwork } from './container-config.ts';

async function options(t: Test, extra: Record<string, unknown> = {}) {
  const dir = t.testdir({ 'agent.json': JSON.stringify({ id: 'probe', version: '1.0.0', plugins: ['./main.js'], ...extra }), 'main.js': 'export default { name: "p", start() {} };' });
  const blueprint = await loadBlueprint(`${dir}/agent.json`);
  return containerCreateOptions({
    spec: { pid: '12', blueprint, env: { OPENSTARRY_AGENT_ID: 'probe', OPENSTARRY_HOME: '/var/lib/openstarry/agents/probe' } },
    image: 'localhost/openstarry-agent:test',
    daemonId: 'd1',
    channelDir: '/var/lib/openstarry/run/docker/agent-12-abcd',
    user: '65534:65534',
    grantedNetwork: 'bridge',
    limits: DEFAULT_CONTAINER_LIMITS,
    name: 'openstarry-probe-12-abcd',
  });
}

t.test('locked down by default: no devices, no network, no capabilities, read-only root, non-root, limits set', async (t) => {
  const o = await options(t, { limits: { memoryMb: 32, cpuPercent: 25 } });
  const h = o.HostConfig!;
  t.same(h.Devices, []);
  t.equal(h.Privileged, false);
  t.equal(h.NetworkMode, 'none');
  t.equal(o.NetworkDisabled, true);
  t.same(h.CapDrop, ['ALL']);
  t.same(h.SecurityOpt, ['no-new-privileges']);
  t.equal(h.ReadonlyRootfs, true);
  t.equal(o.User, '65534:65534');
  t.equal(h.Memory, (32 + DEFAULT_CONTAINER_LIMITS.runtimeOverheadMb) * 1024 * 1024);
  t.equal(h.MemorySwap, h.Memory, 'no swap on top');
  t.equal(h.NanoCpus, 250_000_000);
  t.equal(h.PidsLimit, DEFAULT_CONTAINER_LIMITS.pidsLimit);
  t.same(h.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 1024 }, { Name: 'nproc', Soft: 512, Hard: 512 }]);
  t.ok(o.Cmd?.includes('--max-old-space-size=32'), 'the heap limit is limits.memoryMb, as in a worker');
});

t.test('DI protocol: only the two variables, the template read-only, home read-write at its own path, the socket folder; labels', async (t) => {
  const o = await options(t);
  t.same(o.Env, ['OPENSTARRY_AGENT_ID=probe', 'OPENSTARRY_HOME=/var/lib/openstarry/agents/probe']);
  const mounts = o.HostConfig!.Mounts!.map((m) => [m.Target, m.ReadOnly]);
  t.same(mounts, [['/opt/openstarry/agent', true], ['/var/lib/openstarry/agents/probe', false], ['/run/openstarry', false]]);
  t.equal(o.HostConfig!.Mounts![1]!.Source, '/var/lib/openstarry/agents/probe');
  t.same(o.Labels, { [LABELS.daemon]: 'd1', [LABELS.pid]: '12', [LABELS.agent]: 'probe' });
});

t.test('a net capability turns the network on; other capabilities do not', async (t) => {
  t.equal(grantsNetwork(['sensor:env0:read', 'events:x/*:publish']), false);
  t.equal(grantsNetwork(['net:*:connect']), true);
  const o = await options(t, { capabilities: ['net:api.example.com:connect'] });
  t.equal(o.HostConfig!.NetworkMode, 'bridge');
  t.equal(o.NetworkDisabled, false);
});
