import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeUtsNamespaces, pruneOrphanUts } from './uts.ts';

describe('pod UTS namespaces', () => {
  it('prunes only those whose pod network namespace is gone', async () => {
    const uts = new FakeUtsNamespaces();
    await uts.add('svn-aaaaaa-0001', 'web-1');
    await uts.add('svn-aaaaaa-0002', 'web-2');
    await uts.add('svn-bbbbbb-0001', 'other-lab');
    assert.equal(await pruneOrphanUts(uts, ['svn-aaaaaa', 'svn-aaaaaa-0002', 'svn-bbbbbb-0001']), 1);
    assert.deepEqual(await uts.list(), ['svn-aaaaaa-0002', 'svn-bbbbbb-0001']);
  });
});
