// The providers `--lb-provider NAME` can select. "ipam" (the default) is no provider at all: the
// MetalLB-compatible IPAM serves class-less Services and nodes announce the addresses. Any other
// name starts the service controller with that provider for class-less Services and those of
// class svcnet.io/NAME, and leaves the IPAM only Services of class svcnet.io/ipam.
import type { LoadBalancerProvider } from './provider.ts';

export interface ProviderContext {
  onError?: (err: unknown) => void;
}

export type ProviderFactory = (ctx: ProviderContext) => LoadBalancerProvider;

export const defaultLbProvider = 'ipam';

const factories = new Map<string, ProviderFactory>();

/** Makes a provider selectable by name (each provider module registers itself). */
export function registerLbProvider(name: string, f: ProviderFactory): void {
  factories.set(name, f);
}

export function lbProviderNames(): string[] {
  return [defaultLbProvider, ...[...factories.keys()].sort()];
}

/** undefined for the IPAM; throws a one-line message naming the choices for an unknown name. */
export function createLbProvider(name: string, ctx: ProviderContext = {}): LoadBalancerProvider | undefined {
  if (name === defaultLbProvider) return undefined;
  const f = factories.get(name);
  if (!f) throw new Error(`--lb-provider must be one of ${lbProviderNames().join(', ')}, not ${JSON.stringify(name)}`);
  return f(ctx);
}
