// BGP announcement in `svcnet up --nodes 3 --announce bgp` against a real peer: BIRD 2 in the
// lab's outside namespace peers with every node, learns one path per node for a LoadBalancer
// address outside the LAN (so traffic can only get there through BIRD's routes), installs them
// as one ECMP route, and the outside client reaches the pods through it. eTP=Local is announced
// only by the node with the ready endpoint; a deleted Service's route is withdrawn; a stopped
// node's path goes when its session closes, a silent node's when BIRD's hold timer expires.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasNetAdmin } from '../src/kernel/exec.ts';
import { eventually } from './helpers/eventually.ts';
import { LabUp } from './helpers/lab-up.ts';

const hasBird = (() => {
  try {
    execFileSync('bird', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = !hasNetAdmin()
  ? 'needs root (CAP_NET_ADMIN) for lab namespaces'
  : !hasBird
    ? 'needs BIRD 2 (Debian bird2; scripts/setup.sh --test)'
    : false;

const routerAS = 64512;
const clusterAS = 64513;
const x = process.pid % 250;
const lan = `10.252.${x}`;
const poolNet = `10.253.${x}`;

function manifests(): string {
  return `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bgp, namespace: metallb-system}
spec: {addresses: ["${poolNet}.10-${poolNet}.20"]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: bird, namespace: metallb-system}
spec: {myASN: ${clusterAS}, peerASN: ${routerAS}, peerAddress: ${lan}.2, holdTime: 3s, keepaliveTime: 1s}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec: {communities: [{name: lab, value: "65000:7"}]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: bgp, namespace: metallb-system}
spec: {ipAddressPools: [bgp], communities: [lab, "large:64513:1:2"]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: echo
        image: svcnet/echo
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: one}
spec:
  replicas: 1
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: one}}
    spec:
      containers:
      - name: echo
        image: svcnet/echo
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: one}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: one}
  ports: [{port: 80, targetPort: 8080}]
`;
}

function birdConf(nodeIPs: string[]): string {
  return `log "BIRD_LOG" all;
router id ${lan}.2;
protocol device { scan time 1; }
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
template bgp nodes {
  local ${lan}.2 as ${routerAS};
  hold time 3;
  keepalive time 1;
  connect retry time 1;
  error wait time 1, 5;
  ipv4 { import all; export none; };
}
${nodeIPs.map((ip, i) => `protocol bgp node${i} from nodes { neighbor ${ip} as ${clusterAS}; }`).join('\n')}
`;
}

describe('BGP announcement to BIRD in the outside namespace', { skip }, () => {
  const lab = new LabUp({
    ns: `svt-${process.pid % 100000}-b`,
    nodes: 3,
    args: [
      '--nodes',
      '3',
      '--announce',
      'bgp',
      '--lan-cidr',
      `${lan}.0/24`,
      '--node-monitor-grace-period',
      '3s',
      '--listen',
      `127.0.0.1:${23000 + (process.pid % 9000)}`,
    ],
  });
  const sock = join(lab.dir, 'bird.ctl');
  const pid = join(lab.dir, 'bird.pid');
  const ips: Record<string, string> = {};
  const birdc = async (cmd: string): Promise<string> => {
    const r = await lab.outside(`birdc -s ${sock} ${cmd}`);
    return r.stdout;
  };
  /** Next hops the outside namespace's kernel has for an address (BIRD's exported route). */
  const kernelHops = async (ip: string): Promise<string[]> => {
    const r = await lab.outside(`ip route show ${ip}`);
    return [...r.stdout.matchAll(/via ([\d.]+)/g)].map((m) => m[1] ?? '').sort();
  };
  const lbIP = (name: string) =>
    eventually(`${name}'s LoadBalancer address`, async () => {
      const s = await lab.json<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(['get', 'svc', name]);
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });

  before(async () => {
    await lab.start();
    const conf = join(lab.dir, 'bird.conf');
    writeFileSync(conf, birdConf([...lab.nodeIPs().values()]).replace('BIRD_LOG', join(lab.dir, 'bird.log')));
    const r = await lab.outside(`bird -c ${conf} -s ${sock} -P ${pid}`);
    assert.equal(r.code, 0, `bird: ${r.stderr}`);
    writeFileSync(join(lab.dir, 'app.yaml'), manifests());
    await lab.kubectl(['apply', '-f', join(lab.dir, 'app.yaml')]);
    ips.web = await lbIP('web');
    ips.one = await lbIP('one');
  });
  after(async () => {
    try {
      execFileSync('bash', ['-c', `kill "$(cat ${pid})"`], { stdio: 'ignore' });
    } catch {}
    await lab.close();
  });

  it('BIRD learns one path per node (ECMP) with the communities, and the client reaches the pods', async () => {
    const nodes = [...lab.nodeIPs().values()].sort();
    const hops = await eventually(
      'an ECMP route over every node',
      async () => {
        const h = await kernelHops(ips.web ?? '');
        return h.length === nodes.length ? h : undefined;
      },
      45_000,
      200,
    );
    assert.deepEqual(hops, nodes);
    const shown = await birdc(`show route all ${ips.web}/32`);
    for (const ip of nodes) assert.match(shown, new RegExp(`via ${ip.replaceAll('.', '\\.')} `), shown);
    assert.match(shown, /BGP\.as_path: 64513/);
    assert.match(shown, /BGP\.community: \(65000,7\)/);
    assert.match(shown, /BGP\.large_community: \(64513, 1, 2\)/);
    const body = await eventually(
      'curl to the LB IP through BIRD’s route',
      async () => {
        const r = await lab.outside(`curl -s -m 1 http://${ips.web}/hostname`);
        return r.code === 0 && r.stdout.startsWith('web-') ? r.stdout : undefined;
      },
      30_000,
      200,
    );
    assert.match(body, /^web-/);
  });

  it('externalTrafficPolicy Local: only the node with the ready endpoint announces', async () => {
    const pod = await lab.json<{ items: { spec?: { nodeName?: string } }[] }>(['get', 'pods', '-l', 'app=one']);
    const node = pod.items[0]?.spec?.nodeName ?? '';
    const want = lab.nodeIPs().get(node);
    assert.ok(want, `pod of one on ${node}`);
    const hops = await eventually(
      'a single path for the eTP=Local Service',
      async () => {
        const h = await kernelHops(ips.one ?? '');
        return h.length === 1 ? h : undefined;
      },
      30_000,
      200,
    );
    assert.deepEqual(hops, [want]);
    const r = await eventually('curl to the eTP=Local address', async () => {
      const c = await lab.outside(`curl -s -m 1 http://${ips.one}/hostname`);
      return c.code === 0 ? c.stdout : undefined;
    });
    assert.match(r, /^one-/);
  });

  it('a deleted Service is withdrawn', async () => {
    await lab.kubectl(['delete', 'svc', 'one']);
    await eventually(
      'the route of the deleted Service gone from BIRD',
      async () => ((await birdc(`show route ${ips.one}/32`)).includes(ips.one ?? '-') ? undefined : true),
      15_000,
      200,
    );
    assert.deepEqual(await kernelHops(ips.one ?? ''), []);
  });

  it('a stopped node’s path goes at the hold timer; traffic continues over the others', async () => {
    const [victim = '', victimIP = ''] = [...lab.nodeIPs()][0] ?? [];
    const t0 = Date.now();
    const stop = await lab.svcnet(['node', 'stop', victim]);
    assert.equal(stop.code, 0, stop.stderr);
    const hops = await eventually(
      'the stopped node’s next hop withdrawn',
      async () => {
        const h = await kernelHops(ips.web ?? '');
        return h.length > 0 && !h.includes(victimIP) ? h : undefined;
      },
      15_000,
      50,
    );
    const ms = Date.now() - t0;
    assert.equal(hops.length, 2);
    const r = await lab.outside(
      `for i in $(seq 100); do curl -s -m 0.5 http://${ips.web}/hostname && exit 0; done; exit 1`,
    );
    assert.equal(r.code, 0, 'no connection after the withdrawal');
    // A lab node stop SIGKILLs the agent, so its kernel closes the TCP session (FIN) and BIRD
    // drops the path at once; a silent failure waits for the hold timer (next test).
    console.log(`bgp failover (node stop, session closed by the kernel): ${ms} ms to the path withdrawn at BIRD`);
    assert.ok(ms < 8000, `withdrawal took ${ms} ms`);
  });

  it('a node that goes silent loses its path when BIRD’s hold timer (3 s) expires', async () => {
    const [node = '', nodeIP = ''] = [...lab.nodeIPs()][1] ?? [];
    assert.ok(node);
    // Only BGP from that node is lost (its data path still works): nothing but the hold timer can notice.
    const nft = await lab.outside(
      `nft add table ip part && nft add chain ip part in '{ type filter hook input priority 0; }' && nft add rule ip part in ip saddr ${nodeIP} tcp dport 179 drop`,
    );
    assert.equal(nft.code, 0, nft.stderr);
    const t0 = Date.now();
    const hops = await eventually(
      'the silent node’s next hop withdrawn',
      async () => {
        const h = await kernelHops(ips.web ?? '');
        return h.length > 0 && !h.includes(nodeIP) ? h : undefined;
      },
      15_000,
      50,
    );
    const ms = Date.now() - t0;
    assert.equal(hops.length, 1);
    console.log(`bgp failover (silent node, hold time 3 s, no BFD): ${ms} ms to the path withdrawn at BIRD`);
    assert.ok(ms >= 1500, `withdrawn after ${ms} ms, before the hold time could pass`);
    assert.ok(ms < 8000, `withdrawal took ${ms} ms`);
    const r = await lab.outside(`curl -s -m 1 http://${ips.web}/hostname`);
    assert.equal(r.code, 0, 'no connection over the remaining path');
  });
});
