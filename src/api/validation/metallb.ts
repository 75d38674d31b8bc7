// MetalLB (metallb.io) validation. MetalLB checks these in its webhook and config parser; the
// messages here are ours, written to say what to fix, on upstream-style field paths.
import { duplicate, type ErrorList, invalid, Path, required } from '../field.ts';
import { bytesAreIPv4, bytesToBigInt, type IPFamily, ipFamilyOf, parseCIDRSloppy, parseIPSloppy } from '../ip.ts';
import { validateLabelSelector } from '../labels/validate.ts';
import type {
  BFDProfile,
  BGPAdvertisement,
  BGPPeer,
  Community,
  IPAddressPool,
  L2Advertisement,
  LabelSelector,
  ObjectMeta,
} from '../types.ts';
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

// ---- BGP communities -------------------------------------------------------------------------

/** RFC 1997 standard community (two 16-bit halves) or RFC 8092 large community (three 32-bit words). */
export type CommunityValue =
  | { kind: 'standard'; value: number }
  | { kind: 'large'; global: number; local1: number; local2: number };

const communityHelp =
  'must be a standard community "AA:NN" (two numbers 0-65535) or "large:AA:NN:MM" (three 0-4294967295)';

function uintOf(text: string, max: number): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** Parse MetalLB's community spelling; a string is the reason it is invalid. */
export function parseCommunity(text: string): CommunityValue | string {
  const parts = text.split(':');
  if (parts[0] === 'large') {
    const [g, a, b] = parts.slice(1).map((x) => uintOf(x, maxASN));
    if (parts.length !== 4 || g === undefined || a === undefined || b === undefined) return communityHelp;
    return { kind: 'large', global: g, local1: a, local2: b };
  }
  const [hi, lo] = parts.map((x) => uintOf(x, 0xffff));
  if (parts.length !== 2 || hi === undefined || lo === undefined) return communityHelp;
  return { kind: 'standard', value: hi * 0x10000 + lo };
}

/** MetalLB's own text form, which is also what BIRD and FRR print. */
export function formatCommunity(c: CommunityValue): string {
  return c.kind === 'large'
    ? `large:${c.global}:${c.local1}:${c.local2}`
    : `${Math.floor(c.value / 0x10000)}:${c.value % 0x10000}`;
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
    else if (c.includes(':')) {
      // Anything with a colon is a value, never an alias name (names are DNS-1123 labels).
      const v = parseCommunity(c);
      if (typeof v === 'string') errs.push(invalid(p, c, v));
    }
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

const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds; undefined when it would not parse (negative too). */
export function parseGoDuration(text: string): number | undefined {
  if (!durationRegexp.test(text) || text.startsWith('-')) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    total += Number(m[1]) * (unitMs[m[2] ?? ''] ?? 0);
  return total;
}

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
  const ms: Partial<Record<'holdTime' | 'keepaliveTime', number>> = {};
  for (const field of ['holdTime', 'keepaliveTime'] as const) {
    const v = spec[field];
    if (v === undefined) continue;
    const d = parseGoDuration(v);
    if (d === undefined) errs.push(invalid(Path.of('spec', field), v, 'must be a duration such as "90s" or "1m30s"'));
    else ms[field] = d;
  }
  // RFC 4271 4.2: a hold time is zero or at least three seconds; MetalLB refuses a keepalive
  // longer than the hold time, which would let the session expire between keepalives.
  if (ms.holdTime !== undefined && ms.holdTime !== 0 && ms.holdTime < 3000)
    errs.push(invalid(Path.of('spec', 'holdTime'), spec.holdTime, 'must be 0 or at least 3s (RFC 4271)'));
  if (ms.holdTime !== undefined && ms.keepaliveTime !== undefined && ms.keepaliveTime > ms.holdTime)
    errs.push(
      invalid(
        Path.of('spec', 'keepaliveTime'),
        spec.keepaliveTime,
        `must not be longer than holdTime (${spec.holdTime})`,
      ),
    );
  if (spec.password && spec.passwordSecret)
    errs.push(
      invalid(
        Path.of('spec', 'passwordSecret'),
        spec.passwordSecret.name ?? '',
        'may not be set together with spec.password',
      ),
    );
  if (spec.passwordSecret && !spec.passwordSecret.name)
    errs.push(required(Path.of('spec', 'passwordSecret', 'name'), 'the name of a kubernetes.io/basic-auth Secret'));
  errs.push(...selectors(spec.nodeSelectors, Path.of('spec', 'nodeSelectors')));
  return errs;
}

export function validateCommunity(c: Community): ErrorList {
  const errs = meta(c.metadata);
  const seen = new Set<string>();
  (c.spec?.communities ?? []).forEach((alias, i) => {
    const p = Path.of('spec', 'communities').index(i);
    if (!alias.name) errs.push(required(p.child('name'), 'the alias other resources use for this value'));
    else if (seen.has(alias.name)) errs.push(duplicate(p.child('name'), alias.name));
    else if (alias.name.includes(':'))
      errs.push(invalid(p.child('name'), alias.name, 'may not contain ":" (it would read as a community value)'));
    if (alias.name) seen.add(alias.name);
    if (!alias.value) errs.push(required(p.child('value'), 'a community value such as "65535:65282"'));
    else {
      const v = parseCommunity(alias.value);
      if (typeof v === 'string') errs.push(invalid(p.child('value'), alias.value, v));
    }
  });
  return errs;
}

/** The CRD's bounds (kubebuilder Minimum/Maximum), in milliseconds where they are times. */
export const bfdBounds = {
  receiveInterval: [10, 60000],
  transmitInterval: [10, 60000],
  detectMultiplier: [2, 255],
  echoInterval: [10, 60000],
  minimumTtl: [1, 254],
} as const;

export function validateBFDProfile(b: BFDProfile): ErrorList {
  const errs = meta(b.metadata);
  const spec = b.spec ?? {};
  for (const [field, [lo, hi]] of Object.entries(bfdBounds)) {
    const v = spec[field as keyof typeof bfdBounds];
    if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi))
      errs.push(invalid(Path.of('spec', field), v, inclusiveRangeError(lo, hi)));
  }
  return errs;
}

/** Updates re-run the create checks; nothing in these specs is immutable. */
export const metallbUpdate =
  <T extends { metadata?: ObjectMeta }>(validate: (o: T) => ErrorList) =>
  (obj: T, old: T): ErrorList => [...metaUpdate(obj.metadata, old.metadata), ...validate(obj)];
