// Where the IPVS plane does something other than a conformance case expects, and why (shared by
// the fake-kernel and the real-kernel runs).

// As for the nftables plane: a Service the proxy ignores has a ClusterIP in the service CIDR
// that nothing binds, and unbound service-CIDR addresses are dropped (5.14).
const ignoredReason =
  'kernel planes drop service-CIDR addresses they do not serve (5.14); the trace says DROP, not UNHANDLED';

export const ipvsSkips: Readonly<Record<string, string>> = {
  'service-proxy-name label: not proxied': ignoredReason,
  'headless label: not proxied': ignoredReason,
};
