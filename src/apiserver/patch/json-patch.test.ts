import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApiError, isBadRequest, isInvalid } from '../../api/status.ts';
import { applyJsonPatch, parsePointer } from './json-patch.ts';

const doc = () => ({
  metadata: { name: 'a', labels: { app: 'a', 'x/y': '1' } },
  spec: { ports: [{ port: 80 }, { port: 81 }], externalIPs: ['1.1.1.1'] },
});

function rejected(ops: unknown[], cause: string): void {
  assert.throws(
    () => applyJsonPatch(doc(), ops),
    (e: ApiError) => {
      assert.ok(isInvalid(e));
      assert.equal(e.code, 422);
      assert.equal(e.message, 'the server rejected our request due to an error in our request');
      assert.equal((e.cause as Error).message, cause);
      return true;
    },
  );
}

describe('applyJsonPatch (RFC 6902)', () => {
  it('parses JSON pointers with ~0 and ~1 escapes', () => {
    assert.deepEqual(parsePointer('/metadata/labels/x~1y'), ['metadata', 'labels', 'x/y']);
    assert.deepEqual(parsePointer('/a~0b'), ['a~b']);
    assert.deepEqual(parsePointer(''), []);
  });

  it('applies add, remove, replace, move, copy and test in order', () => {
    const out = applyJsonPatch(doc(), [
      { op: 'test', path: '/metadata/name', value: 'a' },
      { op: 'add', path: '/spec/ports/-', value: { port: 82 } },
      { op: 'add', path: '/spec/ports/0', value: { port: 79 } },
      { op: 'remove', path: '/spec/ports/1' },
      { op: 'replace', path: '/metadata/labels/app', value: 'b' },
      { op: 'remove', path: '/metadata/labels/x~1y' },
      { op: 'copy', from: '/metadata/labels', path: '/spec/selector' },
      { op: 'move', from: '/spec/externalIPs', path: '/spec/clusterIPs' },
      { op: 'test', path: '/spec/ports', value: [{ port: 79 }, { port: 81 }, { port: 82 }] },
    ]);
    assert.deepEqual(out, {
      metadata: { name: 'a', labels: { app: 'b' } },
      spec: {
        ports: [{ port: 79 }, { port: 81 }, { port: 82 }],
        selector: { app: 'b' },
        clusterIPs: ['1.1.1.1'],
      },
    });
  });

  it('leaves the target untouched and applies all or nothing', () => {
    const d = doc();
    assert.throws(() =>
      applyJsonPatch(d, [
        { op: 'remove', path: '/spec/ports' },
        { op: 'test', path: '/metadata/name', value: 'b' },
      ]),
    );
    assert.deepEqual(d, doc());
  });

  it('answers operations that do not apply with 422', () => {
    rejected([{ op: 'test', path: '/metadata/name', value: 'b' }], 'testing value /metadata/name failed: test failed');
    rejected([{ op: 'remove', path: '/metadata/nope' }], 'Unable to remove nonexistent key: nope: missing value');
    rejected(
      [{ op: 'replace', path: '/metadata/nope', value: 1 }],
      'replace operation does not apply: doc is missing key: /metadata/nope: missing value',
    );
    rejected(
      [{ op: 'add', path: '/status/x', value: 1 }],
      'add operation does not apply: doc is missing path: "/status/x": missing value',
    );
    rejected(
      [{ op: 'add', path: '/spec/ports/5', value: 1 }],
      'Unable to access invalid index: 5: invalid index referenced',
    );
    rejected(
      [{ op: 'move', from: '/spec', path: '/spec/x' }],
      'move operation does not apply: /spec/x is a child of /spec',
    );
    rejected([{ op: 'frob', path: '/a' }], 'Unexpected kind: frob');
  });

  it('answers a body that is not a list of operations with 400', () => {
    assert.throws(
      () => applyJsonPatch(doc(), { op: 'add' }),
      (e: ApiError) =>
        isBadRequest(e) && e.message === 'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  });
});
