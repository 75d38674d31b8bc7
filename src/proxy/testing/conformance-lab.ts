// A kernel lab shaped after a snapshot and the packets to send, for the conformance suite on a
// real kernel (conformance/kernel.ts); not used at runtime. Namespaces (all named with the
// caller's prefix, removed by close(), stale ones removed first):
//   n  the node: the plane programs it; eth0 to `o` carries the node addresses (/24 each);
//   o  the outside: the LAN peer, owning every external source address (on lo), default via n;
//   a  local endpoints, b  remote endpoints (routed through n like pods on point-to-point veths,
//      so replies cross n's conntrack);  c  pod sources;
//   u  a sink owning the destinations that are neither node, endpoint nor service addresses:
//      whatever a plane does not capture reaches it and is answered "UNHANDLED".
// Servers answer "<local ip:port> <peer ip>" so a probe sees which endpoint it reached and
// whether its source address was rewritten.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { cidrContains, ipFamilyOf } from '../../api/ip.ts';
import { run } from '../../kernel/exec.ts';
import { inNetns, maxNameLength } from '../../kernel/netns.ts';
import type { ProxySnapshot } from '../snapshot.ts';

export interface Listen {
  readonly ip: string;
  readonly port: number;
  readonly proto: 'TCP' | 'UDP';
}

export interface ConformanceLab {
  /** The node namespace the plane programs. */
  readonly node: string;
  /** Where a packet from `src` is sent from. */
  nsOf(src: string): string;
  close(): Promise<void>;
}

const serverScript = `
const net=require('net'),dgram=require('dgram');const {listens,unhandled}=JSON.parse(process.argv[1]);
const peer=(a)=>String(a).replace('::ffff:','');let n=0;const done=()=>{if(++n===listens.length)console.log('ready')};
for(const l of listens){const me=l.ip+':'+l.port;const say=(p)=>(unhandled?'UNHANDLED':me)+' '+peer(p);
 if(l.proto==='TCP'){net.createServer(c=>{c.on('error',()=>{});c.end(say(c.remoteAddress)+'\\n')}).listen(l.port,l.ip,done)}
 else{const u=dgram.createSocket('udp4');u.on('message',(m,r)=>u.send(say(r.address),r.port,r.address));u.bind(l.port,l.ip,done)}}
if(listens.length===0)console.log('ready');`;

async function sh(ns: string, cmd: string): Promise<void> {
  await run(inNetns(ns, ['sh', '-ec', cmd]), { timeoutMs: 30_000 });
}

export async function removeConformanceLab(prefix: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(prefix)) await run(['ip', 'netns', 'delete', name]).catch(() => {});
  }
}

/** The /24 peer of a node address on the LAN: .1, or .2 when the node is .1. */
function lanPeer(ip: string): string {
  const parts = ip.split('.');
  const last = parts.pop();
  return [...parts, last === '1' ? '2' : '1'].join('.');
}

export interface ConformanceLabSpec {
  readonly snapshot: ProxySnapshot;
  /** Every packet source and destination the suite will use. */
  readonly sources: readonly string[];
  readonly destinations: readonly Listen[];
  /** Kernel planes drop unserved addresses inside these (5.14): the sink must not own them. */
  readonly serviceCIDRs: readonly string[];
}

/** `prefix` must leave room for a one-letter suffix in a namespace name. */
export async function createConformanceLab(prefix: string, spec: ConformanceLabSpec): Promise<ConformanceLab> {
  if (prefix.length + 1 > maxNameLength) throw new Error(`lab prefix ${JSON.stringify(prefix)} too long`);
  const { snapshot } = spec;
  const node = snapshot.node;
  if ([...node.ips, ...spec.sources].some((ip) => ipFamilyOf(ip) !== 'IPv4')) {
    throw new Error('the conformance lab is IPv4 only');
  }
  await removeConformanceLab(prefix);
  const ns = (s: string) => `${prefix}${s}`;
  const inPods = (ip: string) => node.podCIDRs.some((c) => cidrContains(c, ip));
  const isNodeSource = (ip: string) => node.ips.includes(ip) || cidrContains('127.0.0.0/8', ip);
  const local: Listen[] = [];
  const remote: Listen[] = [];
  for (const [k, eps] of snapshot.endpoints) {
    const svc = snapshot.services.get(k);
    if (!svc || svc.protocol === 'SCTP') continue;
    for (const e of eps) (e.isLocal ? local : remote).push({ ip: e.ip, port: e.port, proto: svc.protocol });
  }
  const endpointIPs = new Set([...local, ...remote].map((l) => l.ip));
  const podSources = spec.sources.filter((s) => inPods(s) && !endpointIPs.has(s));
  const externalSources = spec.sources.filter((s) => !inPods(s) && !isNodeSource(s));
  const sinks = spec.destinations.filter(
    (d) =>
      !node.ips.includes(d.ip) &&
      !cidrContains('127.0.0.0/8', d.ip) &&
      !endpointIPs.has(d.ip) &&
      !spec.sources.includes(d.ip) &&
      !spec.serviceCIDRs.some((c) => cidrContains(c, d.ip)),
  );
  const gw = (node.podCIDRs[0] ?? '10.244.0.0/24').replace(/\.\d+\/\d+$/, '.1');
  const servers: ChildProcess[] = [];
  const lab: ConformanceLab = {
    node: ns('n'),
    nsOf(src: string) {
      if (isNodeSource(src)) return ns('n');
      if (podSources.includes(src)) return ns('c');
      if (externalSources.includes(src)) return ns('o');
      throw new Error(`no namespace holds the source ${src}`);
    },
    async close() {
      for (const s of servers) s.kill('SIGKILL');
      await removeConformanceLab(prefix);
    },
  };
  try {
    const n = ns('n');
    const o = ns('o');
    await run(['ip', 'netns', 'add', n]);
    await sh(n, 'ip link set lo up; sysctl -qw net.ipv4.ip_forward=1');
    // The LAN: node addresses on n's eth0, their peers on o's; external sources live on o.
    await run(['ip', 'netns', 'add', o]);
    await run(['ip', '-n', n, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', o]);
    const nodeAddrs = node.ips.map((ip) => `ip addr add ${ip}/24 dev eth0`).join('; ');
    const peers = node.ips.map((ip) => `ip addr add ${lanPeer(ip)}/24 dev eth0`).join('; ');
    const [first = ''] = node.ips;
    // A default route like any node has: what happens to unserved addresses is the plane's doing.
    await sh(n, `ip link set eth0 up; ${nodeAddrs}; ip route add default via ${lanPeer(first)}`);
    const ext = externalSources.map((s) => `ip addr add ${s}/32 dev lo`).join('; ');
    await sh(
      o,
      `ip link set lo up; ip link set eth0 up; ${peers}; ${ext || 'true'}; ip route add default via ${first}`,
    );
    // Pod-like namespaces on point-to-point veths, routed through the node.
    const attach = async (suffix: string, ips: readonly string[]) => {
      const p = ns(suffix);
      const v = `v${suffix}`;
      await run(['ip', 'netns', 'add', p]);
      await run(['ip', '-n', n, 'link', 'add', v, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p]);
      const routes = ips.map((ip) => `ip route add ${ip}/32 dev ${v}`).join('; ');
      await sh(n, `ip link set ${v} up; ip addr add ${gw}/32 dev ${v}; ${routes || 'true'}`);
      const addrs = ips.map((ip) => `ip addr add ${ip}/32 dev eth0`).join('; ');
      await sh(
        p,
        `ip link set lo up; ip link set eth0 up; ${addrs || 'true'}; ip route add ${gw} dev eth0; ip route add default via ${gw} dev eth0`,
      );
      return p;
    };
    const uniq = (ls: readonly Listen[]) => [...new Set(ls.map((l) => l.ip))];
    const a = await attach('a', uniq(local));
    const b = await attach('b', uniq(remote));
    await attach('c', podSources);
    const u = await attach('u', uniq(sinks));
    const serve = (where: string, listens: readonly Listen[], unhandled: boolean) =>
      new Promise<void>((resolve, reject) => {
        const [cmd = 'ip', ...args] = inNetns(where, [
          process.execPath,
          '-e',
          serverScript,
          JSON.stringify({ listens, unhandled }),
        ]);
        const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
        servers.push(child);
        child.once('error', reject);
        child.once('exit', (c) => reject(new Error(`server in ${where} exited with ${c}`)));
        child.stdout?.once('data', () => resolve());
      });
    const dedupe = (ls: readonly Listen[]) => [...new Map(ls.map((l) => [`${l.proto} ${l.ip}:${l.port}`, l])).values()];
    await Promise.all([
      serve(a, dedupe(local), false),
      serve(b, dedupe(remote), false),
      serve(
        u,
        dedupe(
          sinks.flatMap((d) => [
            { ...d, proto: 'TCP' as const },
            { ...d, proto: 'UDP' as const },
          ]),
        ),
        true,
      ),
    ]);
    return lab;
  } catch (e) {
    await lab.close();
    throw e;
  }
}

// One prober per source namespace, fed one JSON request a line, answering one JSON line: a
// node process per probe would cost more than the probes themselves.
const probeScript = `
const net=require('net'),dgram=require('dgram'),rl=require('readline');
const tcp=(a)=>new Promise(r=>{const c=net.connect({host:a.dst,port:a.dport,localAddress:a.src,timeout:a.timeout});let d='';
 c.on('data',x=>d+=x);c.on('end',()=>r(d.trim()));c.on('error',e=>r('!'+e.code));c.on('timeout',()=>{c.destroy();r('!TIMEOUT')})});
const udp=(a)=>new Promise(r=>{const u=dgram.createSocket('udp4');let t;const end=(v)=>{clearTimeout(t);u.close();r(v)};
 u.on('error',e=>end('!'+e.code));u.on('message',m=>end(String(m)));
 u.bind(0,a.src,()=>u.connect(a.dport,a.dst,()=>{t=setTimeout(()=>end('!TIMEOUT'),a.timeout);u.send('probe')}))});
let q=Promise.resolve();
rl.createInterface({input:process.stdin}).on('line',l=>{q=q.then(async()=>{const a=JSON.parse(l);const out=[];
 for(let i=0;i<a.tries;i++){const v=await (a.proto==='TCP'?tcp(a):udp(a));out.push(v);if(v.startsWith('!')||v.startsWith('UNHANDLED'))break}
 process.stdout.write(JSON.stringify(out)+'\\n')})});`;

export interface ProbeRequest {
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly proto: 'TCP' | 'UDP';
  readonly tries: number;
  readonly timeout: number;
}

/** Long-lived probers, one per namespace; close() ends them. */
export class Probers {
  private readonly children = new Map<string, { child: ChildProcess; lines: AsyncIterator<string> }>();

  /**
   * Sends up to `tries` new flows (fresh sockets, so each is balanced anew) from `src` in `ns`
   * and returns what each got: a server's line, or "!ECONNREFUSED", "!TIMEOUT"… A refusal, a
   * timeout or the sink's answer ends the series: the verdict does not depend on the pick.
   */
  async probe(ns: string, a: ProbeRequest): Promise<string[]> {
    let p = this.children.get(ns);
    if (!p) {
      const [cmd = 'ip', ...args] = inNetns(ns, [process.execPath, '-e', probeScript]);
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
      p = { child, lines: createInterface({ input: child.stdout as Readable })[Symbol.asyncIterator]() };
      this.children.set(ns, p);
    }
    p.child.stdin?.write(`${JSON.stringify(a)}\n`);
    const r = await p.lines.next();
    if (r.done) throw new Error(`prober in ${ns} exited`);
    return JSON.parse(r.value) as string[];
  }

  close(): void {
    for (const { child } of this.children.values()) child.kill('SIGKILL');
    this.children.clear();
  }
}
