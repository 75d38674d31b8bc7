// Defaults MetalLB's CRDs declare (+kubebuilder:default), applied as the apiserver would apply
// a structural schema's defaults.
import type { BGPAdvertisement, BGPPeer, IPAddressPool } from '../types.ts';

export function defaultIPAddressPool(pool: IPAddressPool): void {
  pool.spec ??= { addresses: [] };
  pool.spec.autoAssign ??= true;
  pool.spec.avoidBuggyIPs ??= false;
}

export function defaultBGPPeer(peer: BGPPeer): void {
  if (peer.spec) peer.spec.peerPort ??= 179;
}

export function defaultBGPAdvertisement(adv: BGPAdvertisement): void {
  adv.spec ??= {};
  adv.spec.aggregationLength ??= 32;
  adv.spec.aggregationLengthV6 ??= 128;
}
