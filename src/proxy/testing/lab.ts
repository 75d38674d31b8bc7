// A throwaway kernel lab for the kernel planes' tests and benchmarks (not used at runtime):
// a node namespace, pod namespaces on point-to-point veths (routed through the node, like
// Calico, so replies always cross the node's conntrack), a client pod, and an "outside"
// namespace on the node's LAN side. Everything is named with the caller's prefix and removed
// by close(), also after a failure; stale namespaces with the prefix are removed first.
import { type ChildProcess, spawn } from 'node:child_process';
import { run } from '../../kernel/exec.ts';
import { inNetns, maxNameLength } from '../../kernel/netns.ts';

export interface LabPod {
  readonly ns: string;
  readonly ip: string;
  readonly name: string;
}

export interface Lab {
  readonly node: string;
  readonly nodeIP: string;
  readonly podGateway: string;
  readonly pods: readonly LabPod[];
  readonly client: LabPod;
  readonly outside: LabPod;
  sh(ns: string, cmd: string): Promise<string>;
  close(): Promise<void>;
}

const echoServer = `
const net=require('net'),dgram=require('dgram');const name=process.argv[1];
const peer=(a)=>String(a).replace('::ffff:','');
net.createServer(c=>{c.on('error',()=>{});c.end(name+' '+peer(c.remoteAddress)+'\\n')}).listen(8080,'0.0.0.0');
const u=dgram.createSocket('udp4');u.on('message',(m,r)=>u.send(name+' '+peer(r.address),r.port,r.address));
u.bind(8081,'0.0.0.0',()=>console.log('ready'));`;

async function sh(ns: string | undefined, cmd: string): Promise<string> {
  return (await run(inNetns(ns, ['sh', '-ec', cmd]), { timeoutMs: 30_000 })).stdout;
}

export async function removeLab(prefix: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(prefix)) await run(['ip', 'netns', 'delete', name]).catch(() => {});
  }
}

/** `prefix` must be short (namespace names ≤ 15 chars): e.g. `nt1234`. */
export async function createLab(prefix: string, podCount = 3): Promise<Lab> {
  if (prefix.length + 2 > maxNameLength)
    throw new Error(`lab prefix ${JSON.stringify(prefix)} too long for namespace names`);
  await removeLab(prefix);
  const servers: ChildProcess[] = [];
  const node = `${prefix}n`;
  const gw = '10.244.0.1';
  const mk = (suffix: string, ip: string, name: string): LabPod => ({ ns: `${prefix}${suffix}`, ip, name });
  const pods = Array.from({ length: podCount }, (_, i) => mk(`p${i + 1}`, `10.244.0.${11 + i}`, `pod${i + 1}`));
  const client = mk('c', '10.244.0.100', 'client');
  const outside = mk('o', '192.168.77.2', 'outside');
  const lab: Lab = {
    node,
    nodeIP: '192.168.77.1',
    podGateway: gw,
    pods,
    client,
    outside,
    sh: (ns, cmd) => sh(ns, cmd),
    async close() {
      for (const s of servers) s.kill('SIGKILL');
      await removeLab(prefix);
    },
  };
  try {
    await run(['ip', 'netns', 'add', node]);
    await sh(node, 'ip link set lo up; sysctl -qw net.ipv4.ip_forward=1');
    for (const [i, p] of [...pods, client].entries()) {
      await run(['ip', 'netns', 'add', p.ns]);
      const v = `vp${i}`;
      await run(['ip', '-n', node, 'link', 'add', v, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns]);
      await sh(node, `ip link set ${v} up; ip addr add ${gw}/32 dev ${v}; ip route add ${p.ip}/32 dev ${v}`);
      await sh(
        p.ns,
        `ip link set lo up; ip link set eth0 up; ip addr add ${p.ip}/32 dev eth0; ip route add ${gw} dev eth0; ip route add default via ${gw} dev eth0`,
      );
    }
    await run(['ip', 'netns', 'add', outside.ns]);
    await run(['ip', '-n', node, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside.ns]);
    // A default route like any node has: service addresses are routable, so what happens to them
    // is the ruleset's doing (REJECT/DROP), not "network unreachable".
    await sh(
      node,
      `ip link set eth0 up; ip addr add ${lab.nodeIP}/24 dev eth0; ip route add default via ${outside.ip}`,
    );
    // The outside host routes 127/8 to the node, like an attacker on the LAN would (CVE-2020-8558).
    await sh(
      outside.ns,
      `ip link set lo up; ip link set eth0 up; ip addr add ${outside.ip}/24 dev eth0; ip route add default via ${lab.nodeIP};
       ip route del local 127.0.0.1 dev lo table local; ip route del local 127.0.0.0/8 dev lo table local 2>/dev/null || true;
       sysctl -qw net.ipv4.conf.all.route_localnet=1; ip route add 127.0.0.0/8 via ${lab.nodeIP} dev eth0`,
    );
    await Promise.all(
      pods.map(
        (p) =>
          new Promise<void>((resolve, reject) => {
            const [cmd = 'ip', ...args] = inNetns(p.ns, [process.execPath, '-e', echoServer, p.name]);
            const child = spawn(cmd, args, {
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            servers.push(child);
            child.once('error', reject);
            child.once('exit', (c) => reject(new Error(`echo server in ${p.ns} exited with ${c}`)));
            child.stdout?.once('data', () => resolve());
          }),
      ),
    );
    return lab;
  } catch (e) {
    await lab.close();
    throw e;
  }
}

const clientScript = `
const net=require('net'),dgram=require('dgram');const a=JSON.parse(process.argv[1]);const out=[];
const tcp=()=>new Promise(r=>{const c=net.connect({host:a.host,port:a.port,timeout:a.timeout});let d='';
 c.on('data',x=>d+=x);c.on('end',()=>r(d.trim()));c.on('error',e=>r(e.code));c.on('timeout',()=>{c.destroy();r('TIMEOUT')})});
(async()=>{
 if(a.proto==='tcp'){for(let i=0;i<a.n;i++)out.push(await tcp())}
 else{const u=dgram.createSocket(a.host.includes(':')?'udp6':'udp4');u.on('error',e=>{});await new Promise(r=>u.bind(a.sport||0,r));
  for(let i=0;i<a.n;i++){out.push(await new Promise(r=>{const t=setTimeout(()=>{u.removeAllListeners('message');r('TIMEOUT')},a.timeout);
   u.once('message',m=>{clearTimeout(t);r(String(m))});u.send('hostname',a.port,a.host)}))}u.close()}
 console.log(JSON.stringify(out))})();`;

/** n sequential TCP connections (fresh sockets) or UDP datagrams (one socket, fixed source port). */
export async function probe(
  ns: string,
  a: { proto: 'tcp' | 'udp'; host: string; port: number; n?: number; timeout?: number; sport?: number },
): Promise<string[]> {
  const args = JSON.stringify({ n: 1, timeout: 1500, ...a });
  const { stdout } = await run(inNetns(ns, [process.execPath, '-e', clientScript, args]), {
    timeoutMs: 60_000,
  });
  return JSON.parse(stdout) as string[];
}

// A hand-built IPv6 TCP SYN sent on a raw packet socket: a LAN host's own kernel would never
// send a packet to ::1 off-host, an attacker's tool would (the ::1 NodePort guard test).
const rawSyn6 = `
import socket, struct, sys
ifname, dst_mac, src, dst, dport = sys.argv[1:6]
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s6, d6 = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
tcp = struct.pack('!HHIIBBHHH', 40000, int(dport), 1, 0, 5 << 4, 0x02, 64240, 0, 0)
pseudo = s6 + d6 + struct.pack('!I3xB', len(tcp), 6)
tcp = tcp[:16] + struct.pack('!H', csum(pseudo + tcp)) + tcp[18:]
ip6 = struct.pack('!IHBB', 6 << 28, len(tcp), 6, 64) + s6 + d6
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((ifname, 0))
src_mac = sock.getsockname()[4]
sock.send(bytes.fromhex(dst_mac.replace(':', '')) + src_mac + b'\\x86\\xdd' + ip6 + tcp)
`;

/** Sends one TCP SYN `src` → [`dst`]:`dport` out of `ifname` in `ns` to the MAC `dstMac`. */
export async function sendRawSyn6(
  ns: string,
  a: { ifname: string; dstMac: string; src: string; dst: string; dport: number },
): Promise<void> {
  await run(inNetns(ns, ['python3', '-c', rawSyn6, a.ifname, a.dstMac, a.src, a.dst, String(a.dport)]));
}
