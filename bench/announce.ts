// LoadBalancer announcement failover, layer 2: `svcnet up --nodes N --announce layer2`, one
// LoadBalancer Service from an IPAddressPool on the lab LAN; each round stops the node that
// announces the address (`svcnet node stop`, a power cut) and measures, from the outside
// namespace, the time to the first successful HTTP request to the address. Printed against the
// issue's limit (1 s) as a ratio; MetalLB's layer 2 takes a few seconds (memberlist).
// BGP failover is not measured yet: the speaker's session runner and the BIRD peer are missing.
// Runs inside a network namespace of its own (root and the packet-socket addon needed; otherwise
// prints a skip line).   node --import tsx bench/announce.ts [--smoke] [--rounds 2]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { packetSocketsAvailable } from '../src/kernel/packet-socket.ts';
import { eventually } from '../test/helpers/eventually.ts';
import { LabUp } from '../test/helpers/lab-up.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const limitMs = 1000;
const roundsArg = args.indexOf('--rounds');
const rounds = smoke ? 1 : Number(roundsArg >= 0 ? args[roundsArg + 1] : 2);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 2) {
  console.error('announce: --rounds must be 1 or 2 (three nodes, one stopped per round)');
  process.exit(2);
}
if (!hasNetAdmin() || !packetSocketsAvailable()) {
  console.log('announce: skipped (needs root and the packet-socket addon)');
  process.exit(0);
}

const lab = new LabUp({
  ns: `svb-${process.pid % 100000}-a`,
  nodes: 3,
  args: [
    '--nodes',
    '3',
    '--announce',
    'layer2',
    '--lan-cidr',
    `10.251.${process.pid % 250}.0/24`,
    '--listen',
    `127.0.0.1:${24000 + (process.pid % 9000)}`,
  ],
});

interface Ev {
  reason?: string;
  involvedObject?: { name?: string };
  source?: { host?: string };
  lastTimestamp?: string;
}

try {
  await lab.start();
  const lan = ([...lab.nodeIPs().values()][0] ?? '').split('.').slice(0, 3).join('.');
  writeFileSync(
    join(lab.dir, 'app.yaml'),
    `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lan, namespace: metallb-system}
spec: {addresses: ["${lan}.200/32"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: lan, namespace: metallb-system}
spec: {interfaces: [eth0]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: echo, image: svcnet/echo, readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
`,
  );
  await lab.kubectl(['apply', '-f', join(lab.dir, 'app.yaml')]);
  const ip = `${lan}.200`;
  await eventually(
    'the address answers',
    async () => ((await lab.outside(`curl -s -m 1 http://${ip}/hostname`)).code === 0 ? true : undefined),
    90_000,
    200,
  );
  const stopped = new Set<string>();
  const figures: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const owner = await eventually('the owner', async () => {
      const l = await lab.json<{ items: Ev[] }>(['get', 'events']);
      const hosts = l.items
        .filter(
          (e) => e.reason === 'nodeAssigned' && e.involvedObject?.name === 'web' && !stopped.has(e.source?.host ?? ''),
        )
        .map((e) => e.source?.host ?? '');
      return hosts.at(-1);
    });
    const t0 = Date.now();
    const stop = await lab.svcnet(['node', 'stop', owner]);
    if (stop.code !== 0) throw new Error(`node stop ${owner}: ${stop.stderr}`);
    stopped.add(owner);
    const ok = await lab.outside(
      `for i in $(seq 300); do curl -s -m 0.2 -o /dev/null http://${ip}/hostname && exit 0; done; exit 1`,
    );
    if (ok.code !== 0) throw new Error('no successful request after the takeover');
    figures.push(Date.now() - t0);
  }
  const worst = Math.max(...figures);
  console.log(
    `announce: layer 2 failover (node stop → first successful request) ${figures.map((f) => `${f} ms`).join(', ')}; worst ${worst} ms vs limit ${limitMs} ms: ratio ${(worst / limitMs).toFixed(2)}`,
  );
  console.log('announce: BGP failover: not measured (no session runner / BIRD peer yet)');
} finally {
  await lab.close();
}
