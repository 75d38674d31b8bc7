// The providers `--lb-provider NAME` can select. "ipam" (the default) is no provider at all: the
// MetalLB-compatible IPAM serves class-less Services and nodes announce the addresses. Any other
// name starts the service controller with that provider for class-less Services and those of
// class svcnet.io/NAME, and leaves the IPAM only Services of class svcnet.io/ipam.
import { join } from 'node:path';
import type { Client } from '../../client/client.ts';
import { HAProxyProvider } from './haproxy/provider.ts';
import { KeepalivedProvider } from './keepalived/provider.ts';
import type { LoadBalancerProvider } from './provider.ts';

/** A machine (network namespace) a provider may run its balancer on. */
export interface EdgeHost {
  /** undefined: the namespace the controller runs in. */
  netns?: string;
  /** Its interface on the network clients come from, and its address there. */
  dev?: string;
  ip?: string;
}

export interface ProviderContext {
  client: Client;
  /** Where the provider keeps its files (configurations, runtime sockets). */
  dataDir: string;
  /** Where balancers run: one host, or two for a provider that pairs them (default: here). */
  edges?: readonly EdgeHost[];
  /** The address a pair floats between its hosts (the gateway clients route external IPs to). */
  floatingIP?: string;
  /** Prefix length of the edges' network. */
  prefix?: number;
  onError?: (err: unknown) => void;
}

export type ProviderFactory = (ctx: ProviderContext) => LoadBalancerProvider;

export const defaultLbProvider = 'ipam';

const factories = new Map<string, ProviderFactory>();
const edgeCounts = new Map<string, number>();

/** Makes a provider selectable by name; `edges`: how many hosts it runs on (default 1). */
export function registerLbProvider(name: string, f: ProviderFactory, opts: { edges?: number } = {}): void {
  factories.set(name, f);
  edgeCounts.set(name, opts.edges ?? 1);
}

export function lbProviderNames(): string[] {
  return [defaultLbProvider, ...[...factories.keys()].sort()];
}

/** How many edge hosts a provider runs on (the lab builds that many); 0 for the IPAM. */
export function lbProviderEdges(name: string): number {
  if (name === defaultLbProvider) return 0;
  return edgeCounts.get(name) ?? 1;
}

/** undefined for the IPAM; throws a one-line message naming the choices for an unknown name. */
export function createLbProvider(name: string, ctx: ProviderContext): LoadBalancerProvider | undefined {
  if (name === defaultLbProvider) return undefined;
  const f = factories.get(name);
  if (!f) throw new Error(`--lb-provider must be one of ${lbProviderNames().join(', ')}, not ${JSON.stringify(name)}`);
  return f(ctx);
}

registerLbProvider(
  'haproxy',
  (ctx) =>
    new HAProxyProvider({
      client: ctx.client,
      dir: join(ctx.dataDir, 'haproxy'),
      ...(ctx.edges?.[0]?.netns ? { netns: ctx.edges[0].netns } : {}),
      ...(ctx.onError ? { onError: ctx.onError } : {}),
    }),
);

registerLbProvider(
  'keepalived',
  (ctx) => {
    if (ctx.edges?.length !== 2 || !ctx.floatingIP || ctx.prefix === undefined)
      throw new Error('--lb-provider keepalived needs two edge hosts and a floating address (svcnet up builds them)');
    return new KeepalivedProvider({
      client: ctx.client,
      dir: join(ctx.dataDir, 'keepalived'),
      edges: ctx.edges.map((e) => ({ ...(e.netns ? { netns: e.netns } : {}), dev: e.dev ?? 'eth0' })),
      gateway: ctx.floatingIP,
      prefix: ctx.prefix,
      ...(ctx.onError ? { onError: ctx.onError } : {}),
    });
  },
  { edges: 2 },
);
