// The BGP session state machine (RFC 4271 §8) as a pure function: (state, event) → (state,
// actions). The session runner owns the TCP socket and the timers and performs the actions; here
// are only the rules, so every transition (including the error ones) is a unit test. svcnet
// always initiates (MetalLB's speakers connect out to their peers), so Active is the retry wait.
import {
  type BGPError,
  CeaseSub,
  ErrorCode,
  type Message,
  type NotificationMessage,
  type OpenMessage,
  OpenSub,
} from './wire.ts';

export type StateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface SessionConfig {
  myAS: number;
  peerAS: number;
  routerID: string;
  /** Seconds; 0 disables keepalives and the hold timer (RFC 4271 4.2). */
  holdTime: number;
  /** Seconds; default a third of the negotiated hold time. */
  keepaliveTime?: number;
  /** Seconds between connection attempts (ConnectRetryTimer; MetalLB's connectTime). */
  connectRetry: number;
}

export interface SessionState {
  name: StateName;
  /** Negotiated in OpenConfirm/Established. */
  holdTime?: number;
  keepalive?: number;
  peer?: OpenMessage;
  /** Both sides sent the RFC 6793 capability. */
  as4?: boolean;
}

export type SessionEvent =
  | { type: 'start' }
  | { type: 'stop'; graceful?: boolean }
  | { type: 'tcpConnected' }
  | { type: 'tcpFailed' }
  | { type: 'message'; message: Message }
  | { type: 'decodeError'; error: BGPError }
  | { type: 'timer'; timer: Timer };

export type Timer = 'connectRetry' | 'hold' | 'keepalive';

export type Action =
  | { type: 'connect' }
  | { type: 'close' }
  | { type: 'send'; message: Message }
  | { type: 'startTimer'; timer: Timer; seconds: number }
  | { type: 'stopTimer'; timer: Timer }
  | { type: 'established' }
  | { type: 'down'; reason: string }
  | { type: 'update'; message: Extract<Message, { type: 'update' }> }
  | { type: 'refreshRequested' };

/** RFC 4271 8.2.2: the OPEN's hold time before negotiation (the large value for OpenSent). */
const openSentHoldSeconds = 240;

export const idle: SessionState = { name: 'Idle' };

export function openFor(c: SessionConfig): OpenMessage {
  return {
    type: 'open',
    version: 4,
    as: c.myAS,
    holdTime: c.holdTime,
    bgpId: c.routerID,
    capabilities: { multiprotocol: ['ipv4-unicast', 'ipv6-unicast'], routeRefresh: true, as4: c.myAS, other: [] },
  };
}

function fail(reason: string, n?: NotificationMessage): { state: SessionState; actions: Action[] } {
  const actions: Action[] = [];
  if (n) actions.push({ type: 'send', message: n });
  actions.push(
    { type: 'close' },
    { type: 'stopTimer', timer: 'hold' },
    { type: 'stopTimer', timer: 'keepalive' },
    { type: 'down', reason },
    // Back off and try again: RFC 4271's automatic start after an error.
    { type: 'startTimer', timer: 'connectRetry', seconds: 0 },
  );
  return { state: { name: 'Active' }, actions };
}

const notify = (code: number, subcode: number, data: Buffer = Buffer.alloc(0)): NotificationMessage => ({
  type: 'notification',
  code,
  subcode,
  data,
});

/** Checks a received OPEN against the configuration (RFC 4271 6.2); a NOTIFICATION when it fails. */
export function checkOpen(c: SessionConfig, m: OpenMessage): NotificationMessage | undefined {
  if (m.as !== c.peerAS) {
    const d = Buffer.alloc(2);
    d.writeUInt16BE(m.as > 0xffff ? 23456 : m.as);
    return notify(ErrorCode.open, OpenSub.badPeerAS, d);
  }
  if (m.bgpId === c.routerID && c.myAS === c.peerAS) return notify(ErrorCode.open, OpenSub.badBGPIdentifier);
  if (m.holdTime === 1 || m.holdTime === 2) return notify(ErrorCode.open, OpenSub.unacceptableHoldTime);
  return undefined;
}

export function step(c: SessionConfig, s: SessionState, e: SessionEvent): { state: SessionState; actions: Action[] } {
  if (e.type === 'stop') {
    const actions: Action[] = [];
    if (s.name === 'OpenSent' || s.name === 'OpenConfirm' || s.name === 'Established')
      actions.push({ type: 'send', message: notify(ErrorCode.cease, CeaseSub.administrativeShutdown) });
    actions.push(
      { type: 'close' },
      { type: 'stopTimer', timer: 'connectRetry' },
      { type: 'stopTimer', timer: 'hold' },
      { type: 'stopTimer', timer: 'keepalive' },
      { type: 'down', reason: 'stopped' },
    );
    return { state: idle, actions };
  }
  if (e.type === 'decodeError') {
    if (s.name === 'Idle') return { state: s, actions: [] };
    return fail(`malformed message: ${e.error.message}`, notify(e.error.code, e.error.subcode, e.error.data));
  }
  switch (s.name) {
    case 'Idle':
      if (e.type === 'start') return { state: { name: 'Connect' }, actions: [{ type: 'connect' }] };
      return { state: s, actions: [] };
    case 'Connect':
    case 'Active':
      if (e.type === 'tcpConnected')
        return {
          state: { name: 'OpenSent' },
          actions: [
            { type: 'stopTimer', timer: 'connectRetry' },
            { type: 'send', message: openFor(c) },
            { type: 'startTimer', timer: 'hold', seconds: openSentHoldSeconds },
          ],
        };
      if (e.type === 'tcpFailed')
        return {
          state: { name: 'Active' },
          actions: [{ type: 'startTimer', timer: 'connectRetry', seconds: c.connectRetry }],
        };
      if (e.type === 'timer' && e.timer === 'connectRetry')
        return { state: { name: 'Connect' }, actions: [{ type: 'connect' }] };
      if (e.type === 'message') return fail('message before the session opened', notify(ErrorCode.fsm, 0));
      return { state: s, actions: [] };
    case 'OpenSent':
    case 'OpenConfirm':
    case 'Established': {
      if (e.type === 'tcpFailed') return fail('connection lost');
      if (e.type === 'timer' && e.timer === 'hold')
        return fail('hold timer expired', notify(ErrorCode.holdTimerExpired, 0));
      if (e.type === 'timer' && e.timer === 'keepalive') {
        if (s.name === 'OpenSent' || !s.keepalive) return { state: s, actions: [] };
        return {
          state: s,
          actions: [
            { type: 'send', message: { type: 'keepalive' } },
            { type: 'startTimer', timer: 'keepalive', seconds: s.keepalive },
          ],
        };
      }
      if (e.type !== 'message') return { state: s, actions: [] };
      const m = e.message;
      if (m.type === 'notification') {
        const n = fail(`peer sent NOTIFICATION ${m.code}/${m.subcode}`);
        return { state: n.state, actions: n.actions };
      }
      if (s.name === 'OpenSent') {
        if (m.type !== 'open') return fail(`expected OPEN, got ${m.type}`, notify(ErrorCode.fsm, 1));
        const bad = checkOpen(c, m);
        if (bad) return fail('OPEN refused', bad);
        const holdTime = Math.min(c.holdTime, m.holdTime);
        const keepalive =
          holdTime === 0
            ? 0
            : Math.max(1, Math.min(c.keepaliveTime ?? Math.floor(holdTime / 3), Math.floor(holdTime / 3)));
        const as4 = m.capabilities.as4 !== undefined;
        const actions: Action[] = [{ type: 'send', message: { type: 'keepalive' } }];
        if (holdTime > 0)
          actions.push(
            { type: 'startTimer', timer: 'hold', seconds: holdTime },
            { type: 'startTimer', timer: 'keepalive', seconds: keepalive },
          );
        else actions.push({ type: 'stopTimer', timer: 'hold' });
        return { state: { name: 'OpenConfirm', holdTime, keepalive, peer: m, as4 }, actions };
      }
      const restartHold: Action[] = s.holdTime ? [{ type: 'startTimer', timer: 'hold', seconds: s.holdTime }] : [];
      if (s.name === 'OpenConfirm') {
        if (m.type === 'keepalive')
          return { state: { ...s, name: 'Established' }, actions: [...restartHold, { type: 'established' }] };
        return fail(`expected KEEPALIVE, got ${m.type}`, notify(ErrorCode.fsm, 2));
      }
      // Established.
      if (m.type === 'keepalive') return { state: s, actions: restartHold };
      if (m.type === 'update') return { state: s, actions: [...restartHold, { type: 'update', message: m }] };
      if (m.type === 'routeRefresh') return { state: s, actions: [...restartHold, { type: 'refreshRequested' }] };
      return fail(`unexpected ${m.type} in Established`, notify(ErrorCode.fsm, 3));
    }
  }
}
