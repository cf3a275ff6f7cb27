// prewarmFor (daemon-api.ts): which spawns boot their isolate ahead (issue 12), and which start nothing.
import t from 'tap';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { TemplateStore } from '../design/template-store.ts';
import { DEFAULT_MEMORY_MB } from '../design/manifest-schema.ts';
import { prewarmFor } from './daemon-api.ts';

function fakes(live: string[] = []) {
  const asked: [string, number][] = [];
  const supervisor = {
    prewarm: (isolation: string, memoryMb: number) => asked.push([isolation, memoryMb]),
    findLive: (id: string) => (live.includes(id) ? {} : undefined),
  } as unknown as Supervisor;
  const store = {
    peek: (id: string) => (id === 'sensor' ? { manifest: { id: 'sensor', isolation: 'process', limits: { memoryMb: 32 } } } : undefined),
  } as unknown as TemplateStore;
  return { asked, supervisor, store };
}

t.test('a known template boots its isolation and memory class; an explicit isolation wins', async (t) => {
  const { asked, supervisor, store } = fakes();
  prewarmFor(supervisor, store, 'sensor');
  prewarmFor(supervisor, store, 'sensor', 'worker');
  t.same(asked, [['process', 32], ['worker', 32]]);
});

t.test('a manifest file is guessed to have the defaults', async (t) => {
  const { asked, supervisor, store } = fakes();
  prewarmFor(supervisor, store, '/agents/x/agent.json');
  t.same(asked, [['worker', DEFAULT_MEMORY_MB]]);
});

t.test('an unknown template, or one whose agent is live (the spawn ends in ERR_AGENT_EXISTS), starts nothing', async (t) => {
  const { asked, supervisor, store } = fakes(['sensor']);
  prewarmFor(supervisor, store, 'nope');
  prewarmFor(supervisor, store, 'sensor');
  t.same(asked, []);
});
