// IP addresses and CIDRs for every layer: parsing, family, canonical text, containment, and the
// integer and host:port forms. Parsing is k8s.io/utils/net ParseIPSloppy/ParseCIDRSloppy (Go 1.16
// net parsing, which tolerates leading zeros, as stored legacy fields may hold them) and the
// canonical text is Go's net.IP/IPNet String(), so every component agrees with the API server on
// what an address is and how it is written. Validation messages live in validation/ip.ts.
export type IPFamily = 'IPv4' | 'IPv6';

/** A parsed address as Go's net.IP holds it: always 16 bytes, IPv4 in its ::ffff:a.b.c.d form. */
export interface ParsedIP {
  readonly bytes: Uint8Array;
  /** netip.ParseAddr would reject the text: an IPv4 octet with a leading 0, or a hex group over 4 digits. */
  readonly leadingZeros: boolean;
  /** Written as IPv6 (contains ':'), so an IPv4-mapped form is netip's Is4In6. */
  readonly textIsIPv6: boolean;
}

const v4InV6Prefix = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function hexValue(c: string | undefined): number {
  if (c === undefined) return -1;
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'a' && c <= 'f') return c.charCodeAt(0) - 87;
  if (c >= 'A' && c <= 'F') return c.charCodeAt(0) - 55;
  return -1;
}

// Go's dtoi/xtoi give up at 0xFFFFFF; anything that large is out of range for us anyway.
const big = 0xffffff;

interface V4Parse {
  octets: number[];
  leadingZeros: boolean;
}

function parseIPv4Sloppy(s: string): V4Parse | null {
  const octets: number[] = [];
  let leadingZeros = false;
  let i = 0;
  for (let part = 0; part < 4; part++) {
    if (i >= s.length) return null;
    if (part > 0) {
      if (s[i] !== '.') return null;
      i++;
    }
    const start = i;
    let n = 0;
    while (isDigit(s[i])) {
      n = n * 10 + (s.charCodeAt(i) - 48);
      if (n >= big) return null;
      i++;
    }
    if (i === start || n > 0xff) return null;
    if (i - start > 1 && s[start] === '0') leadingZeros = true;
    octets.push(n);
  }
  if (i !== s.length) return null;
  return { octets, leadingZeros };
}

function parseIPv6Sloppy(input: string): { bytes: Uint8Array; leadingZeros: boolean } | null {
  const ip = new Uint8Array(16);
  let leadingZeros = false;
  let s = input;
  let ellipsis = -1;
  if (s.length >= 2 && s[0] === ':' && s[1] === ':') {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return { bytes: ip, leadingZeros };
  }
  let i = 0;
  while (i < 16) {
    let c = 0;
    let n = 0;
    while (hexValue(s[c]) >= 0) {
      n = n * 16 + hexValue(s[c]);
      if (n >= big) return null;
      c++;
    }
    if (c === 0 || n > 0xffff) return null;
    if (c < s.length && s[c] === '.') {
      if (ellipsis < 0 && i !== 12) return null;
      if (i + 4 > 16) return null;
      const v4 = parseIPv4Sloppy(s);
      if (!v4) return null;
      v4.octets.forEach((o, k) => {
        ip[i + k] = o;
      });
      leadingZeros ||= v4.leadingZeros;
      s = '';
      i += 4;
      break;
    }
    if (c > 4) leadingZeros = true;
    ip[i] = n >> 8;
    ip[i + 1] = n & 0xff;
    i += 2;
    s = s.slice(c);
    if (s.length === 0) break;
    if (s[0] !== ':' || s.length === 1) return null;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j] ?? 0;
    for (let j = ellipsis + n - 1; j >= ellipsis; j--) ip[j] = 0;
  } else if (ellipsis >= 0) {
    return null;
  }
  return { bytes: ip, leadingZeros };
}

/** netutils.ParseIPSloppy: the first '.' or ':' decides the family; leading zeros are tolerated. */
export function parseIPSloppy(s: string): ParsedIP | null {
  for (const ch of s) {
    if (ch === '.') {
      const v4 = parseIPv4Sloppy(s);
      if (!v4) return null;
      return {
        bytes: new Uint8Array([...v4InV6Prefix, ...v4.octets]),
        leadingZeros: v4.leadingZeros,
        textIsIPv6: false,
      };
    }
    if (ch === ':') {
      const v6 = parseIPv6Sloppy(s);
      if (!v6) return null;
      return { bytes: v6.bytes, leadingZeros: v6.leadingZeros, textIsIPv6: true };
    }
  }
  return null;
}

/** Go's ip.To4() != nil: plain IPv4 or IPv4-mapped IPv6. */
export function bytesAreIPv4(b: Uint8Array): boolean {
  return v4InV6Prefix.every((v, i) => b[i] === v);
}

/** Go's net.IP.String(): dotted quad for IPv4 (and mapped), RFC 5952 for IPv6. */
export function formatIP(b: Uint8Array): string {
  if (bytesAreIPv4(b)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  let e0 = -1;
  let e1 = -1;
  for (let i = 0; i < 16; i += 2) {
    let j = i;
    while (j < 16 && b[j] === 0 && b[j + 1] === 0) j += 2;
    if (j > i && j - i > e1 - e0) {
      e0 = i;
      e1 = j;
      i = j;
    }
  }
  // "::" must not stand for a single zero group.
  if (e1 - e0 <= 2) {
    e0 = -1;
    e1 = -1;
  }
  let out = '';
  for (let i = 0; i < 16; i += 2) {
    if (i === e0) {
      out += '::';
      i = e1;
      if (i >= 16) break;
    } else if (i > 0) {
      out += ':';
    }
    out += (((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16);
  }
  return out;
}

/** A CIDR as Go's net.IPNet holds it after ParseCIDRSloppy. */
export interface ParsedCIDR {
  /** The address as written (host bits kept). */
  readonly ip: ParsedIP;
  /** The network address (host bits cleared). */
  readonly network: Uint8Array;
  /** Prefix length relative to the family (0–32 for IPv4, 0–128 for IPv6). */
  readonly prefix: number;
  /** Length in bits of the text's family: 32 for dotted IPv4, 128 for anything written with ':'. */
  readonly bits: 32 | 128;
  /** netip.ParsePrefix would reject the text: leading zeros in the address or the prefix length. */
  readonly leadingZeros: boolean;
}

/** netutils.ParseCIDRSloppy: Go 1.16 net.ParseCIDR, tolerating leading zeros. */
export function parseCIDRSloppy(s: string): ParsedCIDR | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const mask = s.slice(slash + 1);
  let ip: ParsedIP | null = null;
  let bits: 32 | 128 = 32;
  const v4 = parseIPv4Sloppy(addr);
  if (v4) {
    ip = { bytes: new Uint8Array([...v4InV6Prefix, ...v4.octets]), leadingZeros: v4.leadingZeros, textIsIPv6: false };
  } else {
    bits = 128;
    const v6 = parseIPv6Sloppy(addr);
    if (v6) ip = { bytes: v6.bytes, leadingZeros: v6.leadingZeros, textIsIPv6: true };
  }
  if (!ip) return null;
  let n = 0;
  let i = 0;
  while (isDigit(mask[i])) {
    n = n * 10 + (mask.charCodeAt(i) - 48);
    if (n >= big) return null;
    i++;
  }
  if (i === 0 || i !== mask.length || n > bits) return null;
  const maskLeadingZeros = mask.length > 1 && mask[0] === '0';
  // The prefix counts from the start of the 16-byte form, which for IPv4 starts after 96 bits.
  const offset = bits === 32 ? 96 : 0;
  const network = new Uint8Array(16);
  for (let byte = 0; byte < 16; byte++) {
    const bitStart = byte * 8 - offset;
    let m = 0;
    if (bitStart + 8 <= n) m = 0xff;
    else if (bitStart < n) m = (0xff << (8 - (n - bitStart))) & 0xff;
    if (offset > 0 && byte < 12) m = 0xff;
    network[byte] = (ip.bytes[byte] ?? 0) & m;
  }
  return { ip, network, prefix: n, bits, leadingZeros: ip.leadingZeros || maskLeadingZeros };
}

/** Go's net.IPNet.String(): an IPv4 network (also when written mapped) prints as a.b.c.d/len. */
export function formatCIDR(c: ParsedCIDR): string {
  if (bytesAreIPv4(c.network)) {
    const len = c.bits === 128 ? c.prefix - 96 : c.prefix;
    if (len >= 0) return `${formatIP(c.network)}/${len}`;
  }
  return `${formatIP(c.network)}/${c.prefix}`;
}

/** Dotted-quad IPv4 without leading zeros: already canonical (the fast path of hot callers). */
const plainIPv4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** netutils.IsIPv4String: parses and is IPv4 (an IPv4-mapped IPv6 text counts as IPv4). */
export function isIPv4(value: string): boolean {
  const p = parseIPSloppy(value);
  return p !== null && bytesAreIPv4(p.bytes);
}

/** netutils.IsIPv6String: parses and is not IPv4. */
export function isIPv6(value: string): boolean {
  const p = parseIPSloppy(value);
  return p !== null && !bytesAreIPv4(p.bytes);
}

export function ipFamilyOf(value: string): IPFamily | undefined {
  if (plainIPv4.test(value)) return 'IPv4';
  const p = parseIPSloppy(value);
  if (!p) return undefined;
  return bytesAreIPv4(p.bytes) ? 'IPv4' : 'IPv6';
}

export function cidrFamilyOf(value: string): IPFamily | undefined {
  const c = parseCIDRSloppy(value);
  if (!c) return undefined;
  return bytesAreIPv4(c.network) ? 'IPv4' : 'IPv6';
}

/** Canonical text of a (sloppily) valid IP, or undefined. "010.1.1.1" → "10.1.1.1". */
export function canonicalIP(value: string): string | undefined {
  if (plainIPv4.test(value)) return value;
  const p = parseIPSloppy(value);
  return p ? formatIP(p.bytes) : undefined;
}

/** Canonical network text of a (sloppily) valid CIDR, or undefined. "10.1.1.1/24" → "10.1.1.0/24". */
export function canonicalCIDR(value: string): string | undefined {
  const c = parseCIDRSloppy(value);
  return c ? formatCIDR(c) : undefined;
}

/** netutils.IsDualStackIPStrings: exactly one IPv4 and one IPv6 among valid addresses. */
export function isDualStackIPs(values: readonly string[]): boolean {
  let v4 = 0;
  let v6 = 0;
  for (const v of values) {
    const f = ipFamilyOf(v);
    if (f === 'IPv4') v4++;
    else if (f === 'IPv6') v6++;
  }
  return v4 > 0 && v6 > 0 && v4 + v6 === values.length;
}

/** Whether `ip` lies inside `cidr`; families must match (IPv4-mapped counts as IPv4). */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCIDRSloppy(cidr);
  const p = parseIPSloppy(ip);
  if (!c || !p) return false;
  if (bytesAreIPv4(c.network) !== bytesAreIPv4(p.bytes)) return false;
  const total = c.bits === 32 ? c.prefix + 96 : c.prefix;
  for (let bit = 0; bit < total; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((p.bytes[byte] ?? 0) & mask) !== ((c.network[byte] ?? 0) & mask)) return false;
  }
  return true;
}

/** Whether `ip` is a loopback address (127.0.0.0/8, ::1, or their IPv4-mapped forms). */
export function isLoopbackIP(ip: string): boolean {
  // Called per connection by the userspace plane: string tests before any parse.
  if (ip === '::1' || (ip.startsWith('127.') && plainIPv4.test(ip))) return true;
  if (plainIPv4.test(ip)) return false;
  const p = parseIPSloppy(ip);
  if (!p) return false;
  return bytesAreIPv4(p.bytes) ? p.bytes[12] === 127 : p.bytes.every((x, i) => x === (i === 15 ? 1 : 0));
}

// ---- integer forms --------------------------------------------------------------------------

/** The 16 bytes as one 128-bit integer (IPv4 in its ::ffff:a.b.c.d form). */
export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** The inverse of bytesToBigInt: 16 bytes. */
export function bigIntToBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(16);
  let x = v;
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

const v4MappedBits = 0xffffn << 32n;

/** An address as an integer as wide as its family (32 bits for IPv4, 128 for IPv6). */
export function ipToBigInt(text: string): { readonly family: IPFamily; readonly value: bigint } | undefined {
  const p = parseIPSloppy(text);
  if (!p) return undefined;
  const v = bytesToBigInt(p.bytes);
  return bytesAreIPv4(p.bytes) ? { family: 'IPv4', value: v & 0xffffffffn } : { family: 'IPv6', value: v };
}

/** Canonical text of a family-wide integer (the inverse of ipToBigInt). */
export function bigIntToIP(family: IPFamily, value: bigint): string {
  return formatIP(bigIntToBytes(family === 'IPv4' ? v4MappedBits | (value & 0xffffffffn) : value));
}

// ---- host:port ------------------------------------------------------------------------------

/** Go's net.JoinHostPort: "ip:port", "[ip]:port" for IPv6. Built flat (one string, not a rope). */
export function joinHostPort(host: string, port: number | string): string {
  return (host.includes(':') ? ['[', host, ']:', port] : [host, ':', port]).join('');
}
