// ClusterRole aggregation's union, as the clusterrole-aggregation controller computes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterRole, PolicyRule } from '../../api/types.ts';
import { aggregatedRules, sameRules } from './aggregation.ts';

const cr = (name: string, labels: Record<string, string>, rules: PolicyRule[], agg?: ClusterRole['aggregationRule']) =>
  ({ metadata: { name, labels }, rules, ...(agg ? { aggregationRule: agg } : {}) }) as ClusterRole;
const get = (res: string): PolicyRule => ({ apiGroups: [''], resources: [res], verbs: ['get'] });

describe('aggregatedRules', () => {
  const agg = cr('view', {}, [], { clusterRoleSelectors: [{ matchLabels: { 'to-view': 'true' } }] });
  it('is the union of the selected roles, by name, each rule once, never itself', () => {
    const all = [
      agg,
      cr('b', { 'to-view': 'true' }, [get('pods'), get('services')]),
      cr('a', { 'to-view': 'true' }, [get('services')]),
      cr('c', { other: 'x' }, [get('secrets')]),
    ];
    assert.deepEqual(aggregatedRules(agg, all), [get('services'), get('pods')]);
  });
  it('takes selectors in order; a role matched twice adds nothing new', () => {
    const two = cr('two', {}, [], {
      clusterRoleSelectors: [{ matchLabels: { x: '1' } }, { matchExpressions: [{ key: 'y', operator: 'Exists' }] }],
    });
    const all = [two, cr('a', { y: '' }, [get('a')]), cr('b', { x: '1', y: '' }, [get('b')])];
    assert.deepEqual(aggregatedRules(two, all), [get('b'), get('a')]);
  });
  it('nothing selected is no rules; no aggregationRule is left alone', () => {
    assert.deepEqual(aggregatedRules(agg, [agg]), []);
    assert.equal(aggregatedRules(cr('plain', {}, [get('x')]), []), undefined);
  });
  it('compares rules as the semantic equality does', () => {
    assert.equal(
      sameRules(
        [{ verbs: ['get'], nonResourceURLs: ['/x'], apiGroups: [] }],
        [{ verbs: ['get'], nonResourceURLs: ['/x'] }],
      ),
      true,
    );
    assert.equal(sameRules([get('a')], [get('b')]), false);
  });
});
