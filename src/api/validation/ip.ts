// Mirrors k8s.io/apimachinery pkg/util/validation/ip.go (IsValidIP, IsValidIPForLegacyField, IsValidCIDR,
// IsValidCIDRForLegacyField) and ValidateNonSpecialIP from pkg/apis/core/validation, over the shared
// parser (../ip.ts: Go 1.16 sloppy parsing, with leading zeros tracked to reproduce netip's
// strictness). Messages are byte for byte (§1.23, §1.27, §1.28).
import { type ErrorList, invalid, type Path } from '../field.ts';
import {
  bytesAreIPv4,
  formatCIDR,
  formatIP,
  type ParsedCIDR,
  type ParsedIP,
  parseCIDRSloppy,
  parseIPSloppy,
} from '../ip.ts';

export const invalidIPMessage = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
export const invalidCIDRMessage = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

function invalidIPErrors(path: Path, value: string, parsed: ParsedIP | null, strict: boolean): ErrorList {
  if (!parsed) return [invalid(path, value, invalidIPMessage)];
  const errs: ErrorList = [];
  if (strict) {
    if (parsed.leadingZeros) errs.push(invalid(path, value, 'must not have leading 0s'));
    if (parsed.textIsIPv6 && bytesAreIPv4(parsed.bytes)) {
      errs.push(invalid(path, value, 'must not be an IPv4-mapped IPv6 address'));
    }
  }
  return errs;
}

/** IsValidIP: current rules for new values (no leading 0s, no IPv4-mapped IPv6, canonical text). */
export function isValidIP(path: Path, value: string): ErrorList {
  const parsed = parseIPSloppy(value);
  const errs = invalidIPErrors(path, value, parsed, true);
  if (errs.length > 0 || !parsed) return errs;
  const canonical = formatIP(parsed.bytes);
  if (value !== canonical) errs.push(invalid(path, value, `must be in canonical form (${JSON.stringify(canonical)})`));
  return errs;
}

/**
 * IsValidIPForLegacyField: fields that predate strict validation accept non-canonical text; values
 * already stored in the old object (`validOld`) are not re-checked, so updates never break on them.
 */
export function isValidIPForLegacyField(
  path: Path,
  value: string,
  strict: boolean,
  validOld: readonly string[] = [],
): ErrorList {
  if (validOld.includes(value)) return [];
  return invalidIPErrors(path, value, parseIPSloppy(value), strict);
}

function invalidCIDRErrors(path: Path, value: string, parsed: ParsedCIDR | null, strict: boolean): ErrorList {
  if (!parsed) return [invalid(path, value, invalidCIDRMessage)];
  if (!strict) return [];
  if (parsed.leadingZeros) return [invalid(path, value, 'must not have leading 0s in IP or prefix length')];
  if (parsed.ip.textIsIPv6 && bytesAreIPv4(parsed.ip.bytes)) {
    return [invalid(path, value, 'must not have an IPv4-mapped IPv6 address')];
  }
  if (!parsed.ip.bytes.every((b, i) => b === parsed.network[i])) {
    return [invalid(path, value, 'must not have bits set beyond the prefix length')];
  }
  return [];
}

/** IsValidCIDR: current rules for new values (subnet form, no leading 0s, canonical text). */
export function isValidCIDR(path: Path, value: string): ErrorList {
  const parsed = parseCIDRSloppy(value);
  const errs = invalidCIDRErrors(path, value, parsed, true);
  if (errs.length > 0 || !parsed) return errs;
  const canonical = formatCIDR(parsed);
  return value === canonical ? [] : [invalid(path, value, `must be in canonical form (${JSON.stringify(canonical)})`)];
}

/** IsValidCIDRForLegacyField, with the stored-values exemption of isValidIPForLegacyField. */
export function isValidCIDRForLegacyField(
  path: Path,
  value: string,
  strict: boolean,
  validOld: readonly string[] = [],
): ErrorList {
  if (validOld.includes(value)) return [];
  return invalidCIDRErrors(path, value, parseCIDRSloppy(value), strict);
}

/**
 * ValidateNonSpecialIP (externalIPs, endpoint addresses): unspecified, loopback and link-local
 * addresses are node-centric. IPv4-mapped forms count as IPv4, as in Go.
 */
export const loopbackRangeDetail = 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
export const linkLocalRangeDetail = 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';

export function validateNonSpecialIP(value: string, path: Path): ErrorList {
  const parsed = parseIPSloppy(value);
  if (!parsed) return [invalid(path, value, 'must be a valid IP address')];
  const b = parsed.bytes;
  const v4 = bytesAreIPv4(b);
  const errs: ErrorList = [];
  const unspecified = v4 ? b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15] === 0 : b.every((x) => x === 0);
  if (unspecified) errs.push(invalid(path, value, `may not be unspecified (${value})`));
  const loopback = v4 ? b[12] === 127 : b.every((x, i) => x === (i === 15 ? 1 : 0));
  if (loopback) errs.push(invalid(path, value, loopbackRangeDetail));
  const linkLocal = v4 ? b[12] === 169 && b[13] === 254 : b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80;
  if (linkLocal) errs.push(invalid(path, value, linkLocalRangeDetail));
  const linkLocalMulticast = v4
    ? b[12] === 224 && b[13] === 0 && b[14] === 0
    : b[0] === 0xff && ((b[1] ?? 0) & 0x0f) === 2;
  if (linkLocalMulticast) {
    errs.push(invalid(path, value, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  }
  return errs;
}
