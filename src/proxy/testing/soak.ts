// The churn soak (bench/soak.ts, and a short run in test/proxy-churn.test.ts); not used at
// runtime. Services each have two pods; while a constant TCP + UDP load runs through all of
// them, pods are replaced one after another the way a rolling update does it with graceful
// termination: the new pod's endpoint appears ready, the old one turns terminating (still
// serving), then not serving, then leaves the slice, and only then does the app exit and the
// sandbox go. Every Service always has a ready endpoint, so every failed request is a defect;
// each is reported with what had just happened to that Service.
import type { ChurnPod } from './churn-lab.ts';
import type { ChurnNode, Ep } from './churn-node.ts';
import { tcpPort, udpPort } from './churn-node.ts';
import { isFailure, type LoadResult, startLoad } from './load-client.ts';

export interface SoakOptions {
  readonly services: number;
  readonly pods: number;
  readonly durationMs: number;
  readonly tcpRate: number;
  readonly udpWorkers: number;
  /** Pause between the steps of one pod's termination (≥ the agent's min sync interval). */
  readonly stepMs: number;
}

export interface SoakFailure {
  readonly service: string;
  readonly proto: 'TCP' | 'UDP';
  readonly at: number;
  readonly ms: number;
  readonly error: string;
  /** The Service's changes in the 2 s before the request ended. */
  readonly cause: string;
}

export interface SoakReport {
  readonly plane: string;
  readonly services: number;
  readonly requests: { tcp: number; udp: number };
  readonly failures: readonly SoakFailure[];
  readonly podsReplaced: number;
  readonly sliceWrites: number;
  readonly setupMs: number;
  readonly durationMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(node: ChurnNode, o: SoakOptions): Promise<SoakReport> {
  const t0 = Date.now();
  const pods: ChurnPod[] = [];
  for (let i = 0; i < o.pods; i++) pods.push(await node.lab.addPod());
  // Service i is served by pod slots i and i+1 (mod pods): a pod carries 2·services/pods Services.
  const slotsOf = (i: number) => [i % o.pods, (i + 1) % o.pods];
  const names = Array.from({ length: o.services }, (_, i) => `soak-${i}`);
  const ips: string[] = [];
  for (const n of names) ips.push(await node.service(n));
  const eps = new Map<string, Ep[]>();
  const history = new Map<string, { t: number; what: string }[]>();
  let sliceWrites = 0;
  const write = async (svc: string, next: Ep[], what: string) => {
    eps.set(svc, next);
    const h = history.get(svc) ?? [];
    h.push({ t: Date.now(), what });
    if (h.length > 20) h.shift();
    history.set(svc, h);
    sliceWrites++;
    await node.writeEndpoints(svc, next);
  };
  for (const [i, n] of names.entries())
    await write(
      n,
      slotsOf(i).map((s) => ({ pod: pods[s] as ChurnPod })),
      'created',
    );
  await node.agent.waitForSnapshot(
    (s) => names.every((n) => (s.endpoints.get(`default/${n}:tcp/TCP` as never)?.length ?? 0) === 2),
    120_000,
  );
  const setupMs = Date.now() - t0;

  const targets = ips.flatMap((ip) => [
    { ip, port: tcpPort, proto: 'TCP' as const },
    { ip, port: udpPort, proto: 'UDP' as const },
  ]);
  const load = startLoad(node.lab, {
    targets,
    tcpRate: o.tcpRate,
    udpWorkers: o.udpWorkers,
    udpPauseMs: 5,
    timeoutMs: 2000,
  });
  const start = Date.now();
  let replaced = 0;
  // Rolling replacement, one pod slot at a time.
  for (let slot = 0; Date.now() - start < o.durationMs; slot = (slot + 1) % o.pods) {
    const old = pods[slot] as ChurnPod;
    const fresh = await node.lab.addPod();
    const users = names.filter((_, i) => slotsOf(i).includes(slot));
    const step = async (f: (e: Ep) => Ep | undefined, extra: Ep[], what: string) => {
      await Promise.all(
        users.map((n) => {
          const cur = eps.get(n) ?? [];
          const next = cur.flatMap((e) => (e.pod === old ? (f(e) ?? []) : [e]));
          return write(n, [...next, ...extra], what);
        }),
      );
      await sleep(o.stepMs);
    };
    await step(
      (e) => ({ ...e, ready: false, serving: true, terminating: true }),
      [{ pod: fresh }],
      `${old.name} terminating, ${fresh.name} ready`,
    );
    await step((e) => ({ ...e, ready: false, serving: false, terminating: true }), [], `${old.name} not serving`);
    await step(() => undefined, [], `${old.name} removed`);
    // The app drains and exits after its endpoint is gone; the sandbox goes last.
    await node.lab.removePod(old);
    pods[slot] = fresh;
    replaced++;
  }
  const durationMs = Date.now() - start;
  await load.stop();
  const results = load.results.filter((r) => r[1] >= start);
  const failures = results.filter(isFailure).map((r: LoadResult): SoakFailure => {
    const svc = names[Math.floor(r[0] / 2)] ?? '?';
    const end = r[1] + r[2];
    const recent = (history.get(svc) ?? []).filter((h) => h.t <= end && h.t >= end - 2000);
    return {
      service: svc,
      proto: r[0] % 2 === 0 ? 'TCP' : 'UDP',
      at: r[1],
      ms: r[2],
      error: r[3].slice(1),
      cause: recent.length
        ? recent.map((h) => `${h.what} (${end - h.t} ms before)`).join('; ')
        : 'no change to the Service in the 2 s before',
    };
  });
  return {
    plane: node.mode,
    services: o.services,
    requests: { tcp: results.filter((r) => r[0] % 2 === 0).length, udp: results.filter((r) => r[0] % 2 === 1).length },
    failures,
    podsReplaced: replaced,
    sliceWrites,
    setupMs,
    durationMs,
  };
}

export function formatSoak(r: SoakReport): string {
  const lines = [
    `soak ${r.plane}: ${r.services} Services, ${r.podsReplaced} pods replaced (${r.sliceWrites} slice writes) in ${Math.round(r.durationMs / 1000)} s; requests TCP ${r.requests.tcp}, UDP ${r.requests.udp}; failed ${r.failures.length}`,
  ];
  for (const f of r.failures.slice(0, 50)) {
    lines.push(`  ${f.proto} ${f.service} ${f.error} after ${f.ms} ms — ${f.cause}`);
  }
  if (r.failures.length > 50) lines.push(`  … ${r.failures.length - 50} more`);
  return lines.join('\n');
}
