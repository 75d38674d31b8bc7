import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progress } from './progress.ts';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { isTTY, write: (s: string) => out.push(s) > 0, out };
}

describe('progress', () => {
  it('rewrites one line per step on a terminal and keeps the finished one', () => {
    const s = sink(true);
    const p = progress(s);
    p.step('building the lab');
    p.done();
    p.step('starting the agent');
    p.done('ready');
    const text = s.out.join('');
    assert.match(text, /^\r\x1b\[Kbuilding the lab…\r\x1b\[Kbuilding the lab: done \(\d+\.\d s\)\n/);
    assert.match(text, /starting the agent: ready \(\d+\.\d s\)\n$/);
  });

  it('writes nothing when the output is not a terminal', () => {
    const s = sink(false);
    const p = progress(s);
    p.step('building the lab');
    p.done();
    assert.deepEqual(s.out, []);
  });

  it('ignores done() without a step', () => {
    const s = sink(true);
    progress(s).done();
    assert.deepEqual(s.out, []);
  });
});
