import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSlice } from '../../api/types.ts';
import { SliceTracker, staleTimeoutMs } from './tracker.ts';

const slice = (uid: string, generation: number): EndpointSlice => ({
  addressType: 'IPv4',
  endpoints: [],
  metadata: { uid, generation },
});

describe('SliceTracker', () => {
  it('reports a cache that has not seen our create, update or delete', () => {
    const t = new SliceTracker();
    t.update('ns/a', slice('u1', 1));
    assert.equal(t.stale('ns/a', []), true, 'created slice not in cache yet');
    assert.equal(t.stale('ns/a', [slice('u1', 1)]), false);
    t.update('ns/a', slice('u1', 2));
    assert.equal(t.stale('ns/a', [slice('u1', 1)]), true, 'older generation cached');
    assert.equal(t.shouldSync('ns/a', slice('u1', 2)), false, 'our own write echoed');
    assert.equal(t.shouldSync('ns/a', slice('u1', 3)), true, 'someone else wrote');
    t.expectDeletion('ns/a', slice('u1', 2));
    assert.equal(t.stale('ns/a', [slice('u1', 2)]), true, 'deleted slice still cached');
    assert.equal(t.handleDeletion('ns/a', slice('u1', 2)), false, 'our own delete: no sync');
    assert.equal(t.stale('ns/a', []), false);
    assert.equal(t.handleDeletion('ns/a', slice('u9', 1)), true, 'foreign delete: sync');
  });

  it('gives up waiting after the stale timeout', () => {
    let now = 0;
    const t = new SliceTracker(() => now);
    t.update('ns/a', slice('u1', 1));
    assert.equal(t.stale('ns/a', []), true);
    now = staleTimeoutMs + 1;
    assert.equal(t.stale('ns/a', []), false);
  });
});
