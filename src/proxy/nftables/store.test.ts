// ItemStore ownership without per-element owner records: an element claimed by several owners
// keeps the first owner's value until that owner lets go, whoever releases first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Item, ItemStore } from './store.ts';

const el = (name: string, value: string): Item => ({ family: 'ip', kind: 'element', container: 'm', name, value });

describe('nftables ItemStore', () => {
  it('the first owner wins; the next takes over when it releases (both orders)', () => {
    for (const firstGoes of [true, false]) {
      const s = new ItemStore();
      s.replace('a', [], [el('k', 'A')]);
      s.replace('b', [], [el('k', 'B')]);
      s.replace('c', [], [el('k', 'C')]);
      assert.equal(s.get('ip', 'element', 'm', 'k'), 'A');
      s.drain();
      if (firstGoes) {
        s.replace('a', [el('k', 'A')], []);
        assert.deepEqual(
          s.drain().map((c) => [c.before, c.after]),
          [['A', 'B']],
        );
        s.replace('c', [el('k', 'C')], []);
        assert.equal(s.get('ip', 'element', 'm', 'k'), 'B');
        s.replace('b', [el('k', 'B')], []);
      } else {
        s.replace('b', [el('k', 'B')], []);
        assert.deepEqual(s.drain(), []);
        s.replace('a', [el('k', 'A')], []);
        assert.equal(s.get('ip', 'element', 'm', 'k'), 'C');
        s.replace('c', [el('k', 'C')], []);
      }
      assert.equal(s.get('ip', 'element', 'm', 'k'), undefined);
      assert.equal(s.size(), 0);
    }
  });

  it('an owner updating its contested element keeps its place; duplicates in one contribution: last wins', () => {
    const s = new ItemStore();
    s.replace('a', [], [el('k', 'A1')]);
    s.replace('b', [], [el('k', 'B')]);
    s.replace('b', [el('k', 'B')], [el('k', 'B2')]);
    assert.equal(s.get('ip', 'element', 'm', 'k'), 'A1');
    s.replace('a', [el('k', 'A1')], [el('k', 'A2')]);
    // The anonymous first owner re-claims after B: B is now first (arrival order is kept).
    assert.equal(s.get('ip', 'element', 'm', 'k'), 'B2');
    s.replace('b', [el('k', 'B2')], []);
    assert.equal(s.get('ip', 'element', 'm', 'k'), 'A2');
    s.replace('d', [], [el('x', '1'), el('x', '2')]);
    assert.equal(s.get('ip', 'element', 'm', 'x'), '2');
    s.replace('d', [el('x', '1'), el('x', '2')], []);
    assert.equal(s.get('ip', 'element', 'm', 'x'), undefined);
  });
});
