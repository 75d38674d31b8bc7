// `svcnet explain --probe`: one real connection (TCP) or flow (UDP) from the source pod's
// network namespace to the destination, held open while the agent is asked where it landed.
// The prober is a tiny node script run inside the namespace (`ip netns exec`), since a process
// cannot switch its own sockets' namespace.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProbeResult {
  /** The source port the flow used (0 when none was bound). */
  readonly sport: number;
  /**
   * connected / replied: the flow reached something; reset: accepted, then reset (a proxy refusing
   * after accept, or an endpoint closing: the landing table tells which); refused: REJECT; timeout: DROP.
   */
  readonly outcome: 'connected' | 'replied' | 'sent' | 'reset' | 'refused' | 'timeout';
}

// An error before the deadline is a refusal: RST (ECONNREFUSED) or an ICMP error the reject
// rule sent (ENETUNREACH, EHOSTUNREACH…); only silence is a drop.
// Prints {"sport":…,"outcome":…} once, then keeps the socket until stdin closes (≤ 10 s).
const script = `
const [dst, dport, proto] = process.argv.slice(1);
const done = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); };
const hold = (close) => { process.stdin.on('end', close); process.stdin.resume(); setTimeout(close, 10000).unref(); };
if (proto === 'TCP') {
  const s = require('net').connect({ host: dst, port: Number(dport) });
  const t = setTimeout(() => { done({ sport: s.localPort || 0, outcome: 'timeout' }); s.destroy(); process.exit(0); }, 2500);
  let reported = false;
  const report = (o) => { if (!reported) { reported = true; done(o); } };
  // A proxy accepts before it decides: a reset right after the handshake is a refusal too.
  let sport = 0;
  s.on('connect', () => { clearTimeout(t); sport = s.localPort; setTimeout(() => { report({ sport, outcome: 'connected' }); hold(() => { s.destroy(); process.exit(0); }); }, 300); });
  s.on('error', (e) => { clearTimeout(t); report({ sport: sport || s.localPort || 0, outcome: sport ? 'reset' : e.code === 'ETIMEDOUT' ? 'timeout' : 'refused' }); process.exit(0); });
} else {
  const u = require('dgram').createSocket(dst.includes(':') ? 'udp6' : 'udp4');
  u.connect(Number(dport), dst, () => {
    const sport = u.address().port;
    let settled = false;
    const finish = (outcome) => { if (settled) return; settled = true; done({ sport, outcome }); hold(() => { u.close(); process.exit(0); }); };
    u.on('message', () => finish('replied'));
    u.on('error', (e) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'sent'));
    u.send(Buffer.from('svcnet explain probe\\n'));
    setTimeout(() => finish('sent'), 1500).unref();
  });
}`;

export interface RunningProbe {
  readonly result: ProbeResult;
  /** Closes the probe's socket. */
  close(): void;
}

/** Runs the prober with `argvPrefix` (e.g. `ip netns exec NS`, or nothing for a rootless lab). */
export function startProbe(
  argvPrefix: readonly string[],
  dst: string,
  dport: number,
  proto: 'TCP' | 'UDP',
): Promise<RunningProbe> {
  const argv = [...argvPrefix, process.execPath, '-e', script, dst, String(dport), proto];
  const [cmd = process.execPath, ...args] = argv;
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      try {
        const result = JSON.parse(line) as ProbeResult;
        resolve({ result, close: () => child.stdin.end() });
      } catch {
        reject(new Error(`probe: unexpected output ${JSON.stringify(line)}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`probe exited (${code}) without a result: ${stderr.trim()}`)));
    child.once('error', reject);
  });
}
