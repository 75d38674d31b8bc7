// MetalLB (metallb.io) validation. MetalLB checks these in its webhook and config parser; the
// messages here are ours, written to say what to fix, on upstream-style field paths.
import { duplicate, type ErrorList, invalid, Path, required } from '../field.ts';
import { bytesAreIPv4, bytesToBigInt, type IPFamily, ipFamilyOf, parseCIDRSloppy, parseIPSloppy } from '../ip.ts';
import { validateLabelSelector } from '../labels/validate.ts';
import type { BGPAdvertisement, BGPPeer, IPAddressPool, L2Advertisement, LabelSelector, ObjectMeta } from '../types.ts';
import { validateDNS1123Label, validateDNS1123Subdomain, validateNonnegative } from './common.ts';
import { inclusiveRangeError, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';

export const maxASN = 4294967295;

// ---- address ranges ------------------------------------------------------------------------

/** One pool entry as an inclusive range of 128-bit addresses (IPv4 mapped into ::ffff:0:0/96). */
export interface AddressRange {
  family: IPFamily;
  first: bigint;
  last: bigint;
}

const poolEntryHelp =
  'must be a CIDR (e.g. 192.168.10.0/24) or an address range of one family (e.g. 192.168.10.10-192.168.10.20)';

/** Parse "10.0.0.0/24" or "10.0.0.10 - 10.0.0.20"; a string is the reason it is invalid. */
export function parsePoolEntry(entry: string): AddressRange | string {
  if (entry.includes('/')) {
    const c = parseCIDRSloppy(entry.trim());
    if (!c) return poolEntryHelp;
    // MetalLB takes the CIDR's network as written (host bits ignored), as net.ParseCIDR does.
    const family: IPFamily = c.bits === 32 || bytesAreIPv4(c.network) ? 'IPv4' : 'IPv6';
    const hostBits = BigInt(128 - (c.bits === 32 ? c.prefix + 96 : c.prefix));
    const first = bytesToBigInt(c.network);
    return { family, first, last: first | ((1n << hostBits) - 1n) };
  }
  const parts = entry.split('-');
  if (parts.length !== 2) return poolEntryHelp;
  const [a, b] = parts.map((x) => x.trim());
  const start = parseIPSloppy(a ?? '');
  const end = parseIPSloppy(b ?? '');
  if (!start || !end) return poolEntryHelp;
  const fs = ipFamilyOf(a ?? '');
  if (fs !== ipFamilyOf(b ?? '')) return 'range start and end must be of the same IP family';
  const first = bytesToBigInt(start.bytes);
  const last = bytesToBigInt(end.bytes);
  if (first > last) return 'range start must not be after range end';
  return { family: fs ?? 'IPv4', first, last };
}

// ---- kinds -----------------------------------------------------------------------------------

function meta(m: ObjectMeta | undefined): ErrorList {
  return validateObjectMeta(m, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata'));
}

function metaUpdate(m: ObjectMeta | undefined, old: ObjectMeta | undefined): ErrorList {
  return validateObjectMetaUpdate(m, old, Path.root('metadata'));
}

function selectors(list: readonly LabelSelector[] | undefined, path: Path): ErrorList {
  return (list ?? []).flatMap((s, i) => validateLabelSelector(s, path.index(i)));
}

function names(list: readonly string[] | undefined, path: Path): ErrorList {
  return (list ?? []).flatMap((n, i) => validateDNS1123Subdomain(n, path.index(i)));
}

export function validateIPAddressPool(pool: IPAddressPool): ErrorList {
  const errs = meta(pool.metadata);
  const path = Path.of('spec', 'addresses');
  const addresses = pool.spec?.addresses ?? [];
  if (addresses.length === 0) errs.push(required(path, 'at least one CIDR or address range is required'));
  const seen: { range: AddressRange; index: number }[] = [];
  addresses.forEach((entry, i) => {
    const r = parsePoolEntry(entry);
    if (typeof r === 'string') {
      errs.push(invalid(path.index(i), entry, r));
      return;
    }
    // Overlaps inside one pool double-count addresses and make "available" lie.
    const clash = seen.find((s) => s.range.family === r.family && s.range.first <= r.last && r.first <= s.range.last);
    if (clash) {
      const detail = `overlaps with spec.addresses[${clash.index}] (${JSON.stringify(addresses[clash.index])})`;
      errs.push(invalid(path.index(i), entry, detail));
    }
    seen.push({ range: r, index: i });
  });
  const alloc = pool.spec?.serviceAllocation;
  if (alloc) {
    const p = Path.of('spec', 'serviceAllocation');
    if (alloc.priority !== undefined) errs.push(...validateNonnegative(alloc.priority, p.child('priority')));
    (alloc.namespaces ?? []).forEach((ns, i) => {
      errs.push(...validateDNS1123Label(ns, p.child('namespaces').index(i)));
    });
    errs.push(...selectors(alloc.namespaceSelectors, p.child('namespaceSelectors')));
    errs.push(...selectors(alloc.serviceSelectors, p.child('serviceSelectors')));
  }
  return errs;
}

export function validateL2Advertisement(adv: L2Advertisement): ErrorList {
  const spec = adv.spec ?? {};
  const errs = meta(adv.metadata);
  errs.push(...names(spec.ipAddressPools, Path.of('spec', 'ipAddressPools')));
  errs.push(...selectors(spec.ipAddressPoolSelectors, Path.of('spec', 'ipAddressPoolSelectors')));
  errs.push(...selectors(spec.nodeSelectors, Path.of('spec', 'nodeSelectors')));
  (spec.interfaces ?? []).forEach((name, i) => {
    if (!name) errs.push(required(Path.of('spec', 'interfaces').index(i), 'interface names may not be empty'));
  });
  return errs;
}

export function validateBGPAdvertisement(adv: BGPAdvertisement): ErrorList {
  const spec = adv.spec ?? {};
  const errs = meta(adv.metadata);
  const checkLen = (v: number | undefined, max: number, field: string): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= max))
      errs.push(invalid(Path.of('spec', field), v, inclusiveRangeError(0, max)));
  };
  checkLen(spec.aggregationLength, 32, 'aggregationLength');
  checkLen(spec.aggregationLengthV6, 128, 'aggregationLengthV6');
  if (
    spec.localPref !== undefined &&
    !(Number.isInteger(spec.localPref) && spec.localPref >= 0 && spec.localPref <= maxASN)
  )
    errs.push(invalid(Path.of('spec', 'localPref'), spec.localPref, inclusiveRangeError(0, maxASN)));
  const seen = new Set<string>();
  (spec.communities ?? []).forEach((c, i) => {
    const p = Path.of('spec', 'communities').index(i);
    if (!c) errs.push(required(p, 'a community value (e.g. 65535:65282) or a Community name is required'));
    else if (seen.has(c)) errs.push(duplicate(p, c));
    seen.add(c);
  });
  errs.push(...names(spec.ipAddressPools, Path.of('spec', 'ipAddressPools')));
  errs.push(...selectors(spec.ipAddressPoolSelectors, Path.of('spec', 'ipAddressPoolSelectors')));
  errs.push(...selectors(spec.nodeSelectors, Path.of('spec', 'nodeSelectors')));
  errs.push(...names(spec.peers, Path.of('spec', 'peers')));
  return errs;
}

// Go's time.ParseDuration grammar: a sequence of decimal numbers with units.
const durationRegexp =
  /^[-+]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))*$|^0$/;

export function validateBGPPeer(peer: BGPPeer): ErrorList {
  const errs = meta(peer.metadata);
  const spec: Partial<BGPPeer['spec']> = peer.spec ?? {};
  const asn = (v: number | undefined, field: string): void => {
    const p = Path.of('spec', field);
    if (v === undefined || v === 0) errs.push(required(p, 'an AS number between 1 and 4294967295 is required'));
    else if (!(Number.isInteger(v) && v >= 1 && v <= maxASN)) errs.push(invalid(p, v, inclusiveRangeError(1, maxASN)));
  };
  asn(spec.myASN, 'myASN');
  asn(spec.peerASN, 'peerASN');
  const addrPath = Path.of('spec', 'peerAddress');
  if (!spec.peerAddress) errs.push(required(addrPath, 'the address of the BGP router to peer with is required'));
  else if (!ipFamilyOf(spec.peerAddress)) errs.push(invalid(addrPath, spec.peerAddress, 'must be a valid IP address'));
  if (spec.sourceAddress && !ipFamilyOf(spec.sourceAddress))
    errs.push(invalid(Path.of('spec', 'sourceAddress'), spec.sourceAddress, 'must be a valid IP address'));
  if (spec.peerAddress && spec.sourceAddress && ipFamilyOf(spec.peerAddress) && ipFamilyOf(spec.sourceAddress)) {
    if (ipFamilyOf(spec.peerAddress) !== ipFamilyOf(spec.sourceAddress))
      errs.push(
        invalid(Path.of('spec', 'sourceAddress'), spec.sourceAddress, 'must be of the same IP family as peerAddress'),
      );
  }
  if (spec.peerPort !== undefined && !(Number.isInteger(spec.peerPort) && spec.peerPort >= 1 && spec.peerPort <= 16384))
    errs.push(invalid(Path.of('spec', 'peerPort'), spec.peerPort, inclusiveRangeError(1, 16384)));
  if (spec.routerID && ipFamilyOf(spec.routerID) !== 'IPv4')
    errs.push(invalid(Path.of('spec', 'routerID'), spec.routerID, 'must be a valid IPv4 address'));
  for (const field of ['holdTime', 'keepaliveTime'] as const) {
    const v = spec[field];
    if (v !== undefined && !durationRegexp.test(v))
      errs.push(invalid(Path.of('spec', field), v, 'must be a duration such as "90s" or "1m30s"'));
  }
  errs.push(...selectors(spec.nodeSelectors, Path.of('spec', 'nodeSelectors')));
  return errs;
}

/** Updates re-run the create checks; nothing in these specs is immutable. */
export const metallbUpdate =
  <T extends { metadata?: ObjectMeta }>(validate: (o: T) => ErrorList) =>
  (obj: T, old: T): ErrorList => [...metaUpdate(obj.metadata, old.metadata), ...validate(obj)];
