// EndpointSlice (discovery.k8s.io/v1) validation, as pkg/apis/discovery/validation. Each
// address must belong to the slice's addressType family (IPv4 slices hold only IPv4) and, for
// IP slices, may not be special (ValidateNonSpecialIP, the CVE-2021-25737 fix).
import { duplicate, type ErrorList, invalid, notSupported, Path, required, tooMany } from '../field.ts';
import { isIPv4, isIPv6 } from '../ip.ts';
import type { EndpointSlice } from '../types.ts';
import { validateDNS1123Label, validateImmutable, validateProtocol } from './common.ts';
import { validateNonSpecialIP } from './ip.ts';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  nameIsDNSSubdomain,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './names.ts';

export const supportedAddressTypes = ['FQDN', 'IPv4', 'IPv6'] as const;
/** "IP" was a v1beta1 type; objects that still carry it may be updated but not created. */
const deprecatedAddressTypes = ['IP'] as const;
export const maxEndpoints = 1000;
export const maxPorts = 100;
export const maxAddresses = 100;
const maxTopologyLabels = 16;

export function validateEndpointSlice(slice: EndpointSlice, validAddressTypes: readonly string[]): ErrorList {
  const errs = validateObjectMeta(
    slice.metadata,
    { namespaced: true, nameFn: nameIsDNSSubdomain },
    Path.root('metadata'),
  );
  const typePath = Path.root('addressType');
  if (!slice.addressType) errs.push(required(typePath, ''));
  else if (!validAddressTypes.includes(slice.addressType))
    errs.push(notSupported(typePath, slice.addressType, validAddressTypes));
  errs.push(...validateEndpointList(slice, Path.root('endpoints')));
  errs.push(...validatePorts(slice.ports ?? [], Path.root('ports')));
  return errs;
}

export function validateEndpointSliceCreate(slice: EndpointSlice): ErrorList {
  return validateEndpointSlice(slice, supportedAddressTypes);
}

export function validateEndpointSliceUpdate(slice: EndpointSlice, old: EndpointSlice): ErrorList {
  return [
    ...validateObjectMetaUpdate(slice.metadata, old.metadata, Path.root('metadata')),
    ...validateEndpointSlice(slice, [...supportedAddressTypes, ...deprecatedAddressTypes]),
    ...validateImmutable(slice.addressType, old.addressType, Path.root('addressType')),
  ];
}

function validateEndpointList(slice: EndpointSlice, path: Path): ErrorList {
  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > maxEndpoints) return [tooMany(path, endpoints.length, maxEndpoints)];
  const errs: ErrorList = [];
  endpoints.forEach((ep, i) => {
    const p = path.index(i);
    const addrPath = p.child('addresses');
    const addresses = ep.addresses ?? [];
    if (addresses.length === 0) errs.push(required(addrPath, 'must contain at least 1 address'));
    else if (addresses.length > maxAddresses) errs.push(tooMany(addrPath, addresses.length, maxAddresses));
    addresses.forEach((a, j) => {
      errs.push(...validateAddress(slice.addressType, a, addrPath.index(j)));
    });
    // The internal field is `topology`; v1 serializes it as deprecatedTopology.
    const topology = ep.deprecatedTopology;
    const topoPath = p.child('topology');
    if (topology && Object.keys(topology).length > maxTopologyLabels)
      errs.push(tooMany(topoPath, Object.keys(topology).length, maxTopologyLabels));
    errs.push(...validateLabels(topology, topoPath));
    if (ep.hostname !== undefined) errs.push(...validateDNS1123Label(ep.hostname, p.child('hostname')));
  });
  return errs;
}

/** Unknown address types fall through unvalidated, as upstream (the type itself is rejected). */
function validateAddress(addressType: string, address: string, p: Path): ErrorList {
  switch (addressType) {
    case 'IPv4':
      return [
        ...(isIPv4(address) ? [] : [invalid(p, address, 'must be a valid IPv4 address')]),
        ...validateNonSpecialIP(address, p),
      ];
    case 'IPv6':
      return [
        ...(isIPv6(address) ? [] : [invalid(p, address, 'must be a valid IPv6 address')]),
        ...validateNonSpecialIP(address, p),
      ];
    case 'FQDN':
      return isFullyQualifiedDomainName(p, address);
    default:
      return [];
  }
}

/** validation.IsFullyQualifiedDomainName: a trailing dot is allowed, at least two labels. */
export function isFullyQualifiedDomainName(p: Path, value: string): ErrorList {
  if (value.length === 0) return [required(p, '')];
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const subErrs = isDNS1123Subdomain(name);
  if (subErrs.length > 0) return [invalid(p, name, subErrs.join(','))];
  const labels = name.split('.');
  if (labels.length < 2) return [invalid(p, name, 'should be a domain with at least two segments separated by dots')];
  for (const label of labels) {
    const labelErrs = isDNS1123Label(label);
    if (labelErrs.length > 0) return [invalid(p, label, labelErrs.join(','))];
  }
  return [];
}

function validatePorts(ports: NonNullable<EndpointSlice['ports']>, path: Path): ErrorList {
  if (ports.length > maxPorts) return [tooMany(path, ports.length, maxPorts)];
  const errs: ErrorList = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = path.index(i);
    const name = port.name ?? '';
    if (name.length > 0) errs.push(...validateDNS1123Label(name, p.child('name')));
    if (names.has(name)) errs.push(duplicate(p.child('name'), name));
    else names.add(name);
    errs.push(...validateProtocol(port.protocol, p.child('protocol')));
    if (port.appProtocol !== undefined) {
      for (const msg of isQualifiedName(port.appProtocol))
        errs.push(invalid(p.child('appProtocol'), port.appProtocol, msg));
    }
  });
  return errs;
}
