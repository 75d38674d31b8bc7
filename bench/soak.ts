// Churn soak, per data plane of the plane table (src/proxy/planes.ts): constant TCP and UDP load
// through N Services while their pods are replaced one after another with graceful termination
// (src/proxy/testing/soak.ts). Every Service always has a ready endpoint, so the limit is 0
// failed requests; each failure is printed with what had just happened to its Service. Runs in
// a network namespace of its own (root needed; otherwise prints a skip line). Planes that need
// a kernel this machine lacks (IPVS) run inside the VM harness instead.
//   node --import tsx bench/soak.ts [--smoke] [--plane nftables,userspace] [--services 1000]
//        [--pods 40] [--seconds 60] [--tcp-rate 300] [--udp-workers 8]
import { fileURLToPath } from 'node:url';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { isPlaneMode, planeModes, planes } from '../src/proxy/planes.ts';
import { startChurnNode } from '../src/proxy/testing/churn-node.ts';
import { runInOwnNetns } from '../src/proxy/testing/netns-child.ts';
import { formatSoak, runSoak } from '../src/proxy/testing/soak.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? dflt) : dflt;
};
const num = (name: string, dflt: number, smokeValue: number) => {
  const v = Number(opt(name, String(smoke ? smokeValue : dflt)));
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`soak: --${name} must be a positive integer`);
    process.exit(2);
  }
  return v;
};
const planesWanted = opt('plane', planeModes.join(',')).split(',');
for (const p of planesWanted) {
  if (!isPlaneMode(p)) {
    console.error(`soak: --plane must be among ${planeModes.join(', ')}, not ${p}`);
    process.exit(2);
  }
}
const o = {
  services: num('services', 1000, 50),
  pods: num('pods', 40, 6),
  durationMs: num('seconds', 60, 3) * 1000,
  tcpRate: num('tcp-rate', 300, 100),
  udpWorkers: num('udp-workers', 8, 2),
  stepMs: 300,
};

const netns = process.env.SOAK_NETNS;
if (!netns) {
  if (!hasNetAdmin()) {
    console.log('soak: skipped (needs root: CAP_NET_ADMIN to create network namespaces)');
    process.exit(0);
  }
  let failed = false;
  for (const plane of planesWanted) {
    const why = isPlaneMode(plane) ? planes[plane].unavailable?.() : undefined;
    if (why) {
      console.log(`soak ${plane}: skipped (${why})`);
      continue;
    }
    // A node of its own per plane: a fresh namespace and process.
    const r = await runInOwnNetns('skn', 'SOAK_NETNS', ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
      passThrough: true,
      env: { SOAK_PLANE: plane },
    });
    if (r.code !== 0) failed = true;
  }
  process.exit(failed ? 1 : 0);
} else {
  const plane = process.env.SOAK_PLANE ?? 'nftables';
  if (!isPlaneMode(plane)) throw new Error(`unknown plane ${plane}`);
  const node = await startChurnNode(plane, netns, { minSyncIntervalMs: 100 });
  try {
    const r = await runSoak(node, o);
    console.log(formatSoak(r));
    const total = r.requests.tcp + r.requests.udp;
    console.log(
      `soak ${plane}: failed/requests ${r.failures.length}/${total} = ${(r.failures.length / Math.max(1, total)).toFixed(6)} (limit 0): ${r.failures.length === 0 ? 'PASS' : 'FAIL'}; setup ${Math.round(r.setupMs / 1000)} s`,
    );
  } finally {
    await node.close();
  }
}
