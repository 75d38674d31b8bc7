import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBadRequest } from '../../api/status.ts';
import { applyMergePatch, mergePatch } from './merge.ts';

describe('mergePatch (RFC 7386 appendix A)', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
      const before = structuredClone(target);
      assert.deepEqual(mergePatch(target, patch), want);
      assert.deepEqual(target, before, 'target not mutated');
    });
  }
});

describe('applyMergePatch', () => {
  it('labels a Service as kubectl label does', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', labels: { app: 'a' } }, spec: {} };
    const out = applyMergePatch(svc, { metadata: { labels: { tier: 'web', app: null } } });
    assert.deepEqual(out.metadata, { name: 'a', labels: { tier: 'web' } });
    assert.deepEqual(svc.metadata.labels, { app: 'a' });
  });

  it('refuses a patch that is not an object, as the apiserver does', () => {
    assert.throws(
      () => applyMergePatch({}, 'x'),
      (e) => isBadRequest(e) && (e as Error).message === 'Invalid JSON Patch',
    );
    assert.throws(() => applyMergePatch({}, null), isBadRequest);
  });
});
