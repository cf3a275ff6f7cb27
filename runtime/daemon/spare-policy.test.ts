// warmSparesFor (spare-policy.ts): `auto` keeps one spare while an enabled rule spawns, a number is taken as given.
import t from 'tap';
import type { CompiledRule, RuleAction, RuleSet } from '../orchestrator/rules-schema.ts';
import { warmSparesFor } from './spare-policy.ts';

const rule = (actions: RuleAction[], enabled = true) => ({ actions, enabled }) as unknown as CompiledRule;
const set = (...rules: CompiledRule[]): RuleSet => ({ file: 'rules.yaml', rules, timers: [] }) as unknown as RuleSet;

t.test('auto', async (t) => {
  t.equal(warmSparesFor('auto', undefined), 0, 'before the rules phase: none');
  t.equal(warmSparesFor('auto', set()), 0, 'no rules: none');
  t.equal(warmSparesFor('auto', set(rule([{ verb: 'publish', target: 'x' }]), rule([{ verb: 'kill', target: 'a' }]))), 0, 'rules that never spawn: none');
  t.equal(warmSparesFor('auto', set(rule([{ verb: 'publish', target: 'x' }, { verb: 'spawn', target: 'devops-agent' }]))), 1, 'a spawn action: one');
  t.equal(warmSparesFor('auto', set(rule([{ verb: 'spawn', target: 'a' }], false))), 0, 'only in a disabled rule: none');
});

t.test('a number is taken as given, rules or not', async (t) => {
  t.equal(warmSparesFor(0, set(rule([{ verb: 'spawn', target: 'a' }]))), 0);
  t.equal(warmSparesFor(3, undefined), 3);
});
