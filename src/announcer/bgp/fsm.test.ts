import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Action, idle, openFor, type SessionConfig, type SessionEvent, type SessionState, step } from './fsm.ts';
import { BGPError, type OpenMessage } from './wire.ts';

const cfg: SessionConfig = { myAS: 64512, peerAS: 64500, routerID: '192.0.2.11', holdTime: 9, connectRetry: 5 };
const peerOpen: OpenMessage = { ...openFor({ ...cfg, myAS: 64500, routerID: '192.0.2.1', holdTime: 90 }) };

function run(events: SessionEvent[], s: SessionState = idle): { state: SessionState; actions: Action[] } {
  let state = s;
  let actions: Action[] = [];
  for (const e of events) ({ state, actions } = step(cfg, state, e));
  return { state, actions };
}
const sent = (a: Action[]) => a.flatMap((x) => (x.type === 'send' ? [x.message] : []));
const opening: SessionEvent[] = [{ type: 'start' }, { type: 'tcpConnected' }, { type: 'message', message: peerOpen }];

describe('BGP session FSM (RFC 4271 §8)', () => {
  it('Idle → Connect → OpenSent (our OPEN) → OpenConfirm (KEEPALIVE, negotiated hold 9 s, keepalive 3 s) → Established', () => {
    let r = run([{ type: 'start' }]);
    assert.equal(r.state.name, 'Connect');
    r = run([{ type: 'tcpConnected' }], r.state);
    assert.equal(r.state.name, 'OpenSent');
    assert.equal(sent(r.actions)[0]?.type, 'open');
    r = run([{ type: 'message', message: peerOpen }], r.state);
    assert.equal(r.state.name, 'OpenConfirm');
    assert.deepEqual(sent(r.actions), [{ type: 'keepalive' }]);
    assert.equal(r.state.holdTime, 9);
    assert.equal(r.state.keepalive, 3);
    assert.equal(r.state.as4, true);
    r = run([{ type: 'message', message: { type: 'keepalive' } }], r.state);
    assert.equal(r.state.name, 'Established');
    assert.ok(r.actions.some((a) => a.type === 'established'));
  });

  it('a wrong peer AS is refused with OPEN Message Error / Bad Peer AS', () => {
    const r = run([
      { type: 'start' },
      { type: 'tcpConnected' },
      { type: 'message', message: { ...peerOpen, as: 65001 } },
    ]);
    const n = sent(r.actions)[0];
    assert.equal(r.state.name, 'Active');
    assert.deepEqual(n?.type === 'notification' ? [n.code, n.subcode] : [], [2, 2]);
  });

  it('hold timer expiry sends NOTIFICATION 4 and drops the session; a malformed message sends its error', () => {
    const est = run([...opening, { type: 'message', message: { type: 'keepalive' } }]).state;
    const h = step(cfg, est, { type: 'timer', timer: 'hold' });
    assert.equal(h.state.name, 'Active');
    const n = sent(h.actions)[0];
    assert.equal(n?.type === 'notification' ? n.code : 0, 4);
    assert.ok(h.actions.some((a) => a.type === 'down'));
    const d = step(cfg, est, { type: 'decodeError', error: new BGPError(3, 11, 'bad path') });
    const dn = sent(d.actions)[0];
    assert.deepEqual(dn?.type === 'notification' ? [dn.code, dn.subcode] : [], [3, 11]);
  });

  it('an orderly stop sends Cease / Administrative Shutdown', () => {
    const est = run([...opening, { type: 'message', message: { type: 'keepalive' } }]).state;
    const r = step(cfg, est, { type: 'stop' });
    assert.equal(r.state.name, 'Idle');
    const n = sent(r.actions)[0];
    assert.deepEqual(n?.type === 'notification' ? [n.code, n.subcode] : [], [6, 2]);
  });

  it('hold time 0 on either side: no keepalives, no hold timer', () => {
    const r = run([
      { type: 'start' },
      { type: 'tcpConnected' },
      { type: 'message', message: { ...peerOpen, holdTime: 0 } },
    ]);
    assert.equal(r.state.holdTime, 0);
    assert.ok(!r.actions.some((a) => a.type === 'startTimer'));
  });

  it('UPDATE before the session is Established is an FSM error', () => {
    const oc = run(opening).state;
    const r = step(cfg, oc, { type: 'message', message: { type: 'update', withdrawn: [], attributes: {}, nlri: [] } });
    const n = sent(r.actions)[0];
    assert.equal(n?.type === 'notification' ? n.code : 0, 5);
  });
});
