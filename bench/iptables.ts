// iptables data plane benchmark: `node --import tsx bench/iptables.ts [--smoke] [--n 10000]`.
// Runs only inside network namespaces it creates (and removes, also on failure).
//   P1  connection rate (connect, 1-byte request, 1-byte reply, close; many short connections in
//       parallel) through a ClusterIP ÷ straight to the pod IP, with 1 Service and with N (the
//       first- and the last-created one), in mirrored blocks of short rounds; medians of per-block
//       ratios with their 95% CI. Target ≥ 0.92 for every one. The same for the last of N
//       Services programmed in kube-proxy's shape (a KUBE-SERVICES rule per Service, walked in
//       order), the peer the dispatch by ipset + mark tree is measured against.
//   P2  cold full sync of N Services × 5 endpoints until traffic flows ÷ `iptables-restore` of a
//       kube-proxy-shaped ruleset for the same Services (generated here) into a fresh namespace.
//       Target ≤ 0.5.
//   P3  one endpoint change with N Services loaded → time until a client that keeps connecting
//       reaches the new endpoint. Target ≤ 50 ms.
// The iptables backend is the system's `iptables-restore` (named in the output). Prints PASS/FAIL
// per target and always exits 0.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { hasNetAdmin, run } from '../src/kernel/exec.ts';
import { inNetns } from '../src/kernel/netns.ts';
import { probabilityText } from '../src/proxy/iptables/contribution.ts';
import { createIptablesPlane, type IptablesPlane } from '../src/proxy/iptables/plane.ts';
import { syncChanges } from '../src/proxy/snapshot.ts';
import { ep, snapshotOf, svcPort } from '../src/proxy/testing/fixtures.ts';
import { createLab, type Lab, removeLab } from '../src/proxy/testing/lab.ts';
import type { EndpointInfo, NodeInfo, ServicePortInfo } from '../src/proxy/types.ts';
import { firstLine, P1_PORT, p1Pin, rateClient, rateServer, spawnIn, summary, watchFor } from './lib/traffic.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const nArg = args.indexOf('--n');
const N = smoke ? 200 : nArg >= 0 ? Number(args[nArg + 1]) : 10_000;
const onlyArg = args.indexOf('--only');
/** `--only p2,p3`: run a subset (default all). */
const only = new Set((onlyArg >= 0 ? (args[onlyArg + 1] ?? '') : 'p1,p2,p3').split(','));
const EPS = 5;
const prefix = `ib${process.pid % 100000}`;
const serviceCIDRs = ['10.96.0.0/12'];

const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
const ms = (x: number) => `${x.toFixed(1)} ms`;
const changes = syncChanges;

const vip = (i: number) => `10.96.${(i >> 8) & 255}.${i & 255}`;
const epIP = (i: number, j: number) => {
  const k = i * EPS + j;
  return `10.${245 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
};

function services(n: number, real: EndpointInfo): [ServicePortInfo, EndpointInfo[]][] {
  const out: [ServicePortInfo, EndpointInfo[]][] = [];
  for (let i = 0; i < n; i++) {
    const eps = Array.from({ length: EPS }, (_, j) => ep(epIP(i, j), 8080));
    // The last Service is the one traffic is checked through: its endpoint is a real pod.
    out.push([svcPort('bench', `s${i}`, { clusterIPs: [vip(i)] }), i === n - 1 ? [real] : eps]);
  }
  return out;
}

/**
 * kube-proxy's iptables shape for ClusterIP Services (pkg/proxy/iptables/proxier.go): a
 * KUBE-SERVICES rule per Service, a KUBE-SVC chain per Service and a KUBE-SEP chain per endpoint.
 * `real` (ip:port) replaces the endpoints of the Service indices given.
 */
function kubeProxyShaped(n: number, real: ReadonlyMap<number, string> = new Map()): string {
  const chains = [':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]'];
  const rules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  const id = (k: number) => k.toString(36).toUpperCase().padStart(16, '0');
  for (let i = 0; i < n; i++) {
    const svc = `KUBE-SVC-${id(i)}`;
    chains.push(`:${svc} - [0:0]`);
    rules.push(
      `-A KUBE-SERVICES -m comment --comment "bench/s${i} cluster IP" -d ${vip(i)}/32 -p tcp -m tcp --dport 80 -j ${svc}`,
      `-A ${svc} -m comment --comment "bench/s${i} cluster IP" ! -s 10.244.0.0/16 -d ${vip(i)}/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ`,
    );
    const eps = real.has(i) ? [real.get(i) ?? ''] : Array.from({ length: EPS }, (_, j) => `${epIP(i, j)}:8080`);
    for (const [j, e] of eps.entries()) {
      const sep = `KUBE-SEP-${id(i * EPS + j + 1_000_000)}`;
      const ip = e.split(':')[0];
      chains.push(`:${sep} - [0:0]`);
      const stat =
        j < eps.length - 1 ? ` -m statistic --mode random --probability ${probabilityText(1 / (eps.length - j))}` : '';
      rules.push(
        `-A ${svc} -m comment --comment "bench/s${i} -> ${e}"${stat} -j ${sep}`,
        `-A ${sep} -m comment --comment "bench/s${i}" -s ${ip}/32 -j KUBE-MARK-MASQ`,
        `-A ${sep} -m comment --comment "bench/s${i}" -p tcp -m tcp -j DNAT --to-destination ${e}`,
      );
    }
  }
  return `*nat\n${chains.join('\n')}\n${rules.join('\n')}\nCOMMIT\n`;
}

type Program = {
  name: string;
  load(list: [ServicePortInfo, EndpointInfo[]][]): Promise<void>;
  unload(): Promise<void>;
};

/** P1 for one way of programming the node: the ratios of the first and the last VIP to direct. */
async function p1Measure(lab: Lab, prog: Program, n: number, podIP: string, blocks: number) {
  const pin = p1Pin();
  const serverNs = lab.pods[0]?.ns ?? '';
  const server = spawnIn(serverNs, rateServer, pin);
  const client = spawnIn(lab.client.ns, rateClient, pin);
  const roundMs = 100;
  const conc = 16;
  try {
    await firstLine(server);
    const rate = async ([host, port]: readonly [string, number]): Promise<number> => {
      client.stdin?.write(`${host} ${port} ${roundMs} ${conc}\n`);
      const [cnt = 0, err = 0, el = roundMs] = (await firstLine(client)).split(' ').map(Number);
      if (err > cnt / 100) throw new Error(`P1: ${err} failed connections to ${host}:${port} (${cnt} ok)`);
      return (cnt * 1000) / el;
    };
    const list = services(n, ep(podIP, P1_PORT.last, { isLocal: true }));
    const head = list[0];
    if (head) list[0] = [head[0], [ep(podIP, P1_PORT.first, { isLocal: true })]];
    await prog.load(list);
    const targets: (readonly [string, number])[] = [
      [podIP, P1_PORT.direct],
      [vip(0), 80],
    ];
    if (n > 1) targets.push([vip(n - 1), 80]);
    const runBlock = async (b: number): Promise<number[]> => {
      const order = targets.map((_, i) => (i + b) % targets.length);
      const sums = new Array<number>(targets.length).fill(0);
      for (const i of [...order, ...[...order].reverse()]) {
        const t = targets[i];
        if (t) sums[i] = (sums[i] ?? 0) + (await rate(t));
      }
      return sums.map((s) => s / 2);
    };
    for (let b = 0; b < (smoke ? 1 : 4); b++) await runBlock(b);
    const per: number[][] = [];
    for (let b = 0; b < blocks; b++) per.push(await runBlock(b));
    await prog.unload();
    const ratio = (i: number) => per.map((r) => (r[i] ?? Number.NaN) / (r[0] ?? Number.NaN));
    return {
      first: summary(ratio(1)),
      last: summary(ratio(n > 1 ? 2 : 1)),
      direct: summary(per.map((r) => r[0] ?? 0)).med,
    };
  } finally {
    server.kill('SIGKILL');
    client.kill('SIGKILL');
  }
}

async function p3(
  lab: Lab,
  plane: IptablesPlane,
  list: [ServicePortInfo, EndpointInfo[]][],
  node: NodeInfo,
  other: EndpointInfo,
) {
  const last = list.at(-1);
  if (!last) throw new Error('no services');
  const w = watchFor(lab, last[0].clusterIPs[0] ?? '', 'pod2');
  await w.ready;
  await new Promise((r) => setTimeout(r, 50));
  const next = [...list.slice(0, -1), [last[0], [other]] as [ServicePortInfo, EndpointInfo[]]];
  const t0 = performance.timeOrigin + performance.now();
  await plane.sync(
    snapshotOf(next, { node, nodePortIPs: [lab.nodeIP] }),
    changes({ endpoints: new Set([last[0].key]) }),
  );
  const seen = await Promise.race([w.seen, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 5000))]);
  w.stop();
  await plane.sync(
    snapshotOf(list, { node, nodePortIPs: [lab.nodeIP] }),
    changes({ endpoints: new Set([last[0].key]) }),
  );
  return seen - t0;
}

async function backendName(): Promise<string> {
  const { stdout } = await run(['iptables', '-V']).catch(() => ({ stdout: 'unknown' }));
  return stdout.trim();
}

async function main(): Promise<void> {
  if (!hasNetAdmin()) {
    console.log('iptables bench: SKIP (needs root / CAP_NET_ADMIN for network namespaces)');
    return;
  }
  console.log(`iptables bench: ${N} Services × ${EPS} endpoints${smoke ? ' (smoke)' : ''}; ${await backendName()}`);
  await removeLab(prefix);
  const lab = await createLab(prefix, 2);
  const kp = `${prefix}k`;
  try {
    const node: NodeInfo = { name: 'node-a', zone: '', ips: [lab.nodeIP], podCIDRs: ['10.244.0.0/24'] };
    const [pod1, pod2] = lab.pods;
    if (!pod1 || !pod2) throw new Error('lab pods missing');
    // P1
    await lab.sh(lab.client.ns, 'sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1');
    await lab.sh(lab.node, 'sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1');
    await lab.sh(pod1.ns, 'sysctl -qw net.ipv4.tcp_max_tw_buckets=0');
    const blocks = smoke ? 4 : 60;
    let plane: IptablesPlane | undefined;
    const ours: Program = {
      name: 'svcnet',
      async load(list) {
        plane = createIptablesPlane({ netns: lab.node, serviceCIDRs, families: ['IPv4'] });
        await plane.sync(snapshotOf(list, { node, nodePortIPs: [lab.nodeIP] }), changes({ full: true }));
      },
      async unload() {
        await plane?.cleanup();
      },
    };
    const kube: Program = {
      name: 'kube-proxy-shaped',
      async load(list) {
        const real = new Map<number, string>();
        for (const [i, [, eps]] of list.entries()) {
          const e = eps[0];
          if (e && (i === 0 || i === list.length - 1)) real.set(i, `${e.ip}:${e.port}`);
        }
        await run(inNetns(lab.node, ['iptables-restore', '--noflush']), {
          input: kubeProxyShaped(list.length, real),
          timeoutMs: 600_000,
        });
      },
      async unload() {
        await run(inNetns(lab.node, ['iptables', '-t', 'nat', '-F']));
        await run(inNetns(lab.node, ['iptables', '-t', 'nat', '-X']));
      },
    };
    const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    if (only.has('p1')) {
      const one = await p1Measure(lab, ours, 1, pod1.ip, blocks);
      const many = await p1Measure(lab, ours, N, pod1.ip, blocks);
      const kpm = await p1Measure(lab, kube, N, pod1.ip, blocks);
      const f3 = (x: number) => x.toFixed(3);
      const show = (s: ReturnType<typeof summary>) => `${f3(s.med)} (95% CI ${f3(s.lo)}-${f3(s.hi)})`;
      const ok1 = Math.min(one.first.med, many.first.med, many.last.med) >= 0.92;
      console.log(
        `P1 connections/s via ClusterIP ÷ direct (${blocks} blocks of mirrored 100 ms rounds, medians of per-block ratios): ` +
          `1 Service ${show(one.first)}, ${N} Services first ${show(many.first)}, last ${show(many.last)} (target ≥ 0.92 each) ${verdict(ok1)}\n` +
          `   peer: kube-proxy-shaped rules, ${N} Services: first ${show(kpm.first)}, last ${show(kpm.last)}; direct ≈ ${kpm.direct.toFixed(0)}/s; ` +
          `load average ${load0} → ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
      );
    }
    if (!only.has('p2') && !only.has('p3')) return;

    // P2: the kube-proxy-shaped reference into its own fresh namespace, restored the way
    // kube-proxy restores (`iptables-restore --noflush --counters`, pkg/proxy/iptables/proxier.go:
    // RestoreAll(…, NoFlushTables, RestoreCounters)), and, for comparison, replacing the table.
    const ref = kubeProxyShaped(N);
    const restoreInFresh = async (flags: string[]): Promise<number> => {
      await run(['ip', 'netns', 'delete', kp]).catch(() => {});
      await run(['ip', 'netns', 'add', kp]);
      const k0 = performance.now();
      await run(inNetns(kp, ['iptables-restore', ...flags]), { input: ref, timeoutMs: 900_000 });
      return performance.now() - k0;
    };
    const kubeMs = await restoreInFresh(['--noflush', '--counters']);
    const kubeFlushMs = await restoreInFresh([]);
    const list = services(N, ep(pod1.ip, 8080, { isLocal: true }));
    const cold = createIptablesPlane({ netns: lab.node, serviceCIDRs, families: ['IPv4'] });
    const s0 = performance.now();
    await cold.sync(snapshotOf(list, { node, nodePortIPs: [lab.nodeIP] }), changes({ full: true }));
    const w = watchFor(lab, list.at(-1)?.[0].clusterIPs[0] ?? '', 'pod1');
    const seen = await Promise.race([w.seen, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 10_000))]);
    w.stop();
    const oursMs = seen - performance.timeOrigin - s0;
    const ratio = oursMs / kubeMs;
    console.log(
      `P2 cold full sync until traffic flows: svcnet ${ms(oursMs)} (${cold.stats.chains} chains, ${cold.stats.setElements} set elements) vs kube-proxy-shaped ruleset (${ref.split('\n').length} lines) restored as kube-proxy does, --noflush, ${ms(kubeMs)}: ratio ${ratio.toFixed(3)} (target ≤ 0.5) ${verdict(ratio <= 0.5)}; ` +
        `vs the same ruleset replacing the table (no --noflush, which kube-proxy never uses) ${ms(kubeFlushMs)}: ratio ${(oursMs / kubeFlushMs).toFixed(3)}`,
    );

    // P3
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await p3(lab, cold, list, node, ep(pod2.ip, 8080, { isLocal: true })));
    const med = [...times].sort((a, b) => a - b)[2] ?? Number.NaN;
    console.log(
      `P3 endpoint change → new endpoint gets traffic at ${N} Services: ${ms(med)} (median of 5: ${times.map((t) => t.toFixed(0)).join('/')} ms; partial restores ${cold.stats.partialSyncs}, failures ${cold.stats.partialFailures}) (target ≤ 50 ms) ${verdict(med <= 50)}`,
    );
    await cold.cleanup();
  } finally {
    await run(['ip', 'netns', 'delete', kp]).catch(() => {});
    await lab.close();
  }
}

await main().catch((e) => {
  console.log(`iptables bench: ERROR ${(e as Error).message}`);
});
process.exit(0);
