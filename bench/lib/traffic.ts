// Traffic helpers the kernel-plane benchmarks share (bench/iptables.ts): a client that keeps
// connecting until a given pod answers, the connection-rate server and client with their pinning,
// medians with confidence intervals, and the conntrack source-port remap count. Only inside
// network namespaces the benchmark created.
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { inNetns } from '../../src/kernel/netns.ts';
import type { Lab } from '../../src/proxy/testing/lab.ts';

/** A client in the lab connecting in a tight loop; resolves the time (ms, epoch) `want` first answers. */
export function watchFor(
  lab: Lab,
  host: string,
  want: string,
): { ready: Promise<void>; seen: Promise<number>; stop(): void } {
  const script = `
const net=require('net');const [host,want]=process.argv.slice(1);let first=true;
const loop=()=>{const c=net.connect({host,port:80});let d='';c.setTimeout(200);
 c.on('data',x=>d+=x);c.on('timeout',()=>c.destroy());c.on('error',()=>{});
 c.on('close',()=>{if(first){first=false;console.log('ready')}
  if(d.startsWith(want)){console.log('seen '+(performance.timeOrigin+performance.now()));process.exit(0)}setImmediate(loop)})};loop();`;
  const [cmd = 'ip', ...args] = inNetns(lab.client.ns, [process.execPath, '-e', script, host, want]);
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let onReady: () => void = () => {};
  let onSeen: (t: number) => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  const seen = new Promise<number>((r) => (onSeen = r));
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    if (buf.includes('ready')) onReady();
    const m = /seen ([\d.]+)/.exec(buf);
    if (m) onSeen(Number(m[1]));
  });
  return { ready, seen, stop: () => child.kill('SIGKILL') };
}

// P1's server answers on three ports: the pod port the first (or only) Service points at, the
// one the client reaches directly, and the one the last Service points at. Each target's
// connections then have their own reply tuples (pod:port → client:port) in the node's conntrack.
// With one port, a connection to one target whose client port was used by another target within
// the conntrack TIME_WAIT second clashed with that entry, and the kernel rewrote its source port
// (an implicit SNAT on every packet): measured 15-25% of VIP connections and 1-10% of direct
// ones, by an amount that depends on how the per-destination port sequences happen to overlap,
// so it differed between the first and the last VIP and from run to run.
export const P1_PORT = { first: 9000, direct: 9001, last: 9002 } as const;
export const rateServer = `const h=c=>{c.on('error',()=>{});c.once('data',()=>c.end('y'))};let k=0;
for(const p of [${Object.values(P1_PORT).join(',')}])require('net').createServer(h).listen(p,'0.0.0.0',()=>{if(++k===3)console.log('ready')})`;

/**
 * One client process, driven over stdin: "host port ms conc" → "connections errors elapsed-ms".
 * The elapsed time runs to the last close: connections in flight at the deadline finish and count.
 */
export const rateClient = `
const net=require('net');let buf='';
process.stdin.setEncoding('utf8').on('data',d=>{buf+=d;let i;while((i=buf.indexOf('\\n'))>=0){run(buf.slice(0,i));buf=buf.slice(i+1)}});
function run(l){const [host,port,ms,conc]=l.split(' ');let n=0,err=0,live=+conc;const t0=performance.now(),end=t0+ +ms;
 const one=()=>{if(performance.now()>=end){if(--live===0)console.log(n+' '+err+' '+(performance.now()-t0));return}
  const c=net.connect(+port,host);let ok=false;c.setNoDelay(true);
  c.on('connect',()=>c.write('x'));c.on('data',()=>{ok=true});c.on('error',()=>{});
  c.on('close',()=>{if(ok)n++;else err++;setImmediate(one)})};
 for(let k=0;k<+conc;k++)one()}`;

/**
 * Client and server share CPU 1 at nice -20. Everything a connection costs then lands on that one
 * CPU: both processes, and the node's forwarding, conntrack and NAT, which run in softirq on the
 * CPU of whichever process sent the packet (veth delivers in the sender's context). Split over two
 * CPUs the server's CPU idles ~40% of the time, so NAT work on its side (replies) would be free and
 * the idle/wake-up cycles add noise. Nice keeps other work on the machine (not pinned, so it moves
 * to CPU 0) from taking slices of the measured CPU. Measured: our two processes hold CPU 1 97-100%
 * of each round.
 */
export function p1Pin(): string[] {
  if (availableParallelism() < 2) return [];
  try {
    execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' });
  } catch {
    return [];
  }
  return ['taskset', '-c', '1', 'nice', '-n', '-20'];
}

export function spawnIn(ns: string, script: string, pin: string[] = []): ReturnType<typeof spawn> {
  const [cmd = 'ip', ...args] = inNetns(ns, [...pin, process.execPath, '-e', script]);
  return spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

export function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onExit = (c: number | null) => reject(new Error(`bench helper exited with ${c}`));
    const onData = (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i < 0) return;
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve(buf.slice(0, i));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Median, quartiles, and a distribution-free 95% confidence interval of the median. */
export function summary(xs: number[]): { med: number; q1: number; q3: number; lo: number; hi: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (i: number) => s[Math.min(s.length - 1, Math.max(0, i))] ?? Number.NaN;
  const q = (p: number) => {
    const i = (s.length - 1) * p;
    const k = Math.floor(i);
    return at(k) + (at(k + 1) - at(k)) * (i - k);
  };
  // Ranks n/2 ± 1.96·√n/2 of the sorted sample bound the median with ~95% confidence.
  const h = 0.98 * Math.sqrt(s.length);
  return {
    med: q(0.5),
    q1: q(0.25),
    q3: q(0.75),
    lo: at(Math.floor(s.length / 2 - h)),
    hi: at(Math.ceil(s.length / 2 + h) - 1),
  };
}

/** Conntrack entries in `ns` and how many of them had their source port rewritten by the kernel. */
export async function remaps(lab: Lab, ns: string): Promise<{ entries: number; remapped: number } | undefined> {
  const out = await lab.sh(ns, 'conntrack -L -p tcp 2>/dev/null').catch(() => undefined);
  if (out === undefined) return undefined; // no conntrack tool: the figure is left out
  let entries = 0;
  let remapped = 0;
  for (const m of out.matchAll(/ sport=(\d+) dport=\d+ src=\S+ dst=\S+ sport=\d+ dport=(\d+)/g)) {
    entries++;
    if (m[1] !== m[2]) remapped++;
  }
  return { entries, remapped };
}
