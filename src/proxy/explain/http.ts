// The agent's /explain, /explain/landing and /counters: query parameters in, the Explanation (the
// endpoint a real flow landed on; the flows per Service port and endpoint) out. Bad input is a 400
// with one line naming the parameter.
import { canonicalIP } from '../../api/ip.ts';
import type { DataPlane } from '../plane.ts';
import type { ProxySnapshot } from '../snapshot.ts';
import { groupFlows } from './counters.ts';
import { explainFlow } from './explain.ts';
import type { FlowTuple } from './types.ts';

type Reply = { status: number; body: unknown };

const bad = (message: string): Reply => ({ status: 400, body: { message } });

function ipParam(q: URLSearchParams, name: string): string | Reply {
  const v = q.get(name) ?? '';
  const ip = canonicalIP(v);
  return ip ?? bad(`${name}: ${JSON.stringify(v)} is not an IP address`);
}

function portParam(q: URLSearchParams, name: string): number | Reply {
  const v = q.get(name) ?? '';
  const n = Number(v);
  return /^\d+$/.test(v) && n >= 1 && n <= 65535 ? n : bad(`${name}: ${JSON.stringify(v)} is not a port (1-65535)`);
}

function protoParam(q: URLSearchParams): 'TCP' | 'UDP' | Reply {
  const v = (q.get('proto') ?? 'tcp').toUpperCase();
  return v === 'TCP' || v === 'UDP' ? v : bad(`proto: ${JSON.stringify(q.get('proto'))} is not tcp or udp`);
}

const isReply = (x: unknown): x is Reply => typeof x === 'object' && x !== null && 'status' in x;

export interface ExplainRouteDeps {
  readonly plane: DataPlane;
  readonly snapshot: () => ProxySnapshot | undefined;
  readonly masqueradeAll: boolean;
}

export function explainRoutes(d: ExplainRouteDeps): Record<string, (q: URLSearchParams) => Promise<Reply>> {
  return {
    '/explain': async (q) => {
      const src = ipParam(q, 'src');
      const dst = ipParam(q, 'dst');
      const dport = portParam(q, 'dport');
      const proto = protoParam(q);
      for (const x of [src, dst, dport, proto]) if (isReply(x)) return x;
      const snap = d.snapshot();
      if (!snap) return { status: 503, body: { message: 'the agent has not synced yet' } };
      const pod = q.get('pod') ?? undefined;
      const e = await explainFlow(
        snap,
        { src: src as string, dst: dst as string, dport: dport as number, proto: proto as 'TCP' | 'UDP' },
        d.plane.name,
        d.plane.explainer,
        { masqueradeAll: d.masqueradeAll, ...(pod ? { sourcePod: pod } : {}) },
      );
      return { status: 200, body: e };
    },
    '/explain/landing': async (q) => {
      const src = ipParam(q, 'src');
      const dst = ipParam(q, 'dst');
      const sport = portParam(q, 'sport');
      const dport = portParam(q, 'dport');
      const proto = protoParam(q);
      for (const x of [src, dst, sport, dport, proto]) if (isReply(x)) return x;
      if (!d.plane.explainer) return { status: 501, body: { message: `plane ${d.plane.name} cannot explain` } };
      const flow = { src, dst, sport, dport, proto } as FlowTuple;
      const landed = await d.plane.explainer.landing(flow);
      return { status: 200, body: { landed: landed ?? null } };
    },
    '/counters': async () => {
      const snap = d.snapshot();
      if (!snap) return { status: 503, body: { message: 'the agent has not synced yet' } };
      if (!d.plane.explainer) return { status: 501, body: { message: `plane ${d.plane.name} cannot count flows` } };
      return { status: 200, body: groupFlows(snap, d.plane.name, await d.plane.explainer.flows()) };
    },
  };
}
