// A kernel lab for traffic-during-change tests and the churn soak (not used at runtime). It is
// built *from inside* the node namespace, by a process that runs there (netns-child.ts): a
// bridge like the real lab's (src/lab/topology.ts), pods as namespaces on veths hanging off it,
// each with a small backend (TCP answers its name and closes; UDP answers its name), and a
// client pod that runs load generators. A pod whose namespace is gone behaves as on a real node:
// its address is on the bridge's subnet, so a SYN to it waits on ARP and nothing answers.
// Everything is named with the caller's prefix; close() removes it, stale ones go first.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { run } from '../../kernel/exec.ts';
import { inNetns, maxNameLength } from '../../kernel/netns.ts';

export interface ChurnPod {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
}

export interface ChurnLab {
  /** The bridge subnet every pod lives in. */
  readonly podCIDR: string;
  readonly gateway: string;
  readonly client: ChurnPod;
  /** A pod namespace with a running backend, on the bridge. */
  addPod(): Promise<ChurnPod>;
  /** The app exits (kill -9) but the sandbox (namespace, address) stays: connects are refused. */
  crashApp(pod: ChurnPod): void;
  /** The sandbox goes: namespace, veth and address; a connect to it waits on ARP. */
  removePod(pod: ChurnPod): Promise<void>;
  /** Spawns `script` (node -e) in the client pod with `args` as argv[1]. */
  spawnClient(script: string, args: unknown): ChildProcess;
  close(): Promise<void>;
}

const backendScript = `
const net=require('net'),dgram=require('dgram');const name=process.argv[1];
net.createServer(c=>{c.on('error',()=>{});c.end(name+'\\n')}).listen(8080,'0.0.0.0');
const u=dgram.createSocket('udp4');u.on('message',(m,r)=>u.send(name,r.port,r.address));
u.bind(8081,'0.0.0.0',()=>console.log('ready'));`;

async function sh(ns: string | undefined, cmd: string): Promise<void> {
  await run(inNetns(ns, ['sh', '-ec', cmd]), { timeoutMs: 30_000 });
}

export async function removeChurnPods(prefix: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(`${prefix}p`)) await run(['ip', 'netns', 'delete', name]).catch(() => {});
  }
}

/**
 * Builds the lab in the namespace this process runs in (which must be one a test created).
 * `prefix` names the pod namespaces (prefix + "p" + n, n in base 36): the node namespace's
 * name, so a crashed run's pods go with it (netns-child.ts). At most 251 pods live at once.
 */
export async function createChurnLab(prefix: string): Promise<ChurnLab> {
  if (prefix.length + 4 > maxNameLength) throw new Error(`lab prefix ${JSON.stringify(prefix)} too long`);
  await removeChurnPods(prefix);
  const base = '10.246.0';
  const gateway = `${base}.1`;
  const apps = new Map<string, ChildProcess>();
  const free: number[] = Array.from({ length: 251 }, (_, i) => i + 3);
  let serial = 0;
  // The bridge's MAC is fixed: by default a bridge takes the lowest MAC of its ports, so it
  // changes when a pod joins or leaves, and every pod's ARP entry for the gateway goes stale.
  // A default route like any node has (to an address nobody holds), so what happens to service
  // addresses is the plane's doing, not "network unreachable". bridge-nf-call-iptables: a pod reaching a Service backed by a pod on the same bridge gets a
  // reply straight from that pod unless bridged frames cross the node's netfilter (kubelet's
  // requirement too, and what src/lab/topology.ts sets). icmp_ratelimit 0: a kernel plane refuses
  // TCP with ICMP port unreachable, which the kernel sends at most about once a second per
  // client; a load of 100 connections a second from one client pod would see most refusals
  // turn into silent drops, hiding what the plane decided.
  await sh(
    undefined,
    `ip link set lo up; ip link add br0 address 02:00:0a:f6:00:01 type bridge; ip addr add ${gateway}/24 dev br0; ip link set br0 up;
     sysctl -qw net.ipv4.ip_forward=1; sysctl -qw net.bridge.bridge-nf-call-iptables=1;
     ip route add default via ${base}.254 dev br0; sysctl -qw net.ipv4.icmp_ratelimit=0`,
  );

  const attach = async (name: string): Promise<ChurnPod> => {
    const host = free.shift();
    if (host === undefined) throw new Error('churn lab: no free pod address');
    const pod: ChurnPod = { name, ns: `${prefix}p${(serial++).toString(36)}`, ip: `${base}.${host}` };
    // "vf" alone would be an `ip link` keyword.
    const v = `vp${pod.ns.slice(prefix.length + 1)}`;
    await run(['ip', 'netns', 'add', pod.ns]);
    await run(['ip', 'link', 'add', v, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.ns]);
    await sh(undefined, `ip link set ${v} master br0; ip link set ${v} up`);
    await sh(
      pod.ns,
      `ip link set lo up; ip addr add ${pod.ip}/24 dev eth0; ip link set eth0 up; ip route add default via ${gateway}`,
    );
    return pod;
  };

  const hostOf = (pod: ChurnPod) => Number(pod.ip.split('.')[3]);
  const client = await attach('client');

  const lab: ChurnLab = {
    podCIDR: `${base}.0/24`,
    gateway,
    client,
    async addPod() {
      const pod = await attach(`pod-${serial.toString(36)}`);
      const [cmd = 'ip', ...args] = inNetns(pod.ns, [process.execPath, '-e', backendScript, pod.name]);
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      apps.set(pod.ns, child);
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (c) => reject(new Error(`backend in ${pod.ns} exited with ${c}`)));
        child.stdout?.once('data', () => resolve());
      });
      child.removeAllListeners('exit');
      return pod;
    },
    crashApp(pod) {
      apps.get(pod.ns)?.kill('SIGKILL');
      apps.delete(pod.ns);
    },
    async removePod(pod) {
      lab.crashApp(pod);
      await run(['ip', 'netns', 'delete', pod.ns]);
      // The address is reused last (free list order), like a pod IPAM that avoids quick reuse.
      free.push(hostOf(pod));
    },
    spawnClient(script, args) {
      const [cmd = 'ip', ...rest] = inNetns(client.ns, [process.execPath, '-e', script, JSON.stringify(args)]);
      return spawn(cmd, rest, { stdio: ['pipe', 'pipe', 'inherit'] });
    },
    async close() {
      for (const a of apps.values()) a.kill('SIGKILL');
      apps.clear();
      await removeChurnPods(prefix);
      await run(['ip', 'link', 'del', 'br0']).catch(() => {});
    },
  };
  return lab;
}

/** Reads a child's stdout as JSON lines. */
export function jsonLines<T>(child: ChildProcess, onLine: (v: T) => void): void {
  if (!child.stdout) return;
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (l.trim() !== '') onLine(JSON.parse(l) as T);
  });
}
