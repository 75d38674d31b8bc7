// Endpoints (core/v1) validation: ValidateEndpoints / ValidateEndpointsUpdate. Addresses must be
// valid IPs and may not be special (unspecified, loopback, link-local, link-local multicast):
// the CVE-2021-25737 fix, which stops Endpoints from steering traffic to node-local addresses.
import { type ErrorList, invalid, Path, required } from '../field.ts';
import type { Endpoints } from '../types.ts';
import { validateDNS1123Label, validateProtocol, validateQualifiedName } from './common.ts';
import { isValidIP, validateNonSpecialIP } from './ip.ts';
import { isValidPortNum, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';

type Subset = NonNullable<Endpoints['subsets']>[number];
type Address = NonNullable<Subset['addresses']>[number];
type Port = NonNullable<Subset['ports']>[number];

export function validateEndpoints(ep: Endpoints): ErrorList {
  const errs = validateObjectMeta(ep.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }, Path.root('metadata'));
  const subsetsPath = Path.root('subsets');
  (ep.subsets ?? []).forEach((ss, i) => {
    const p = subsetsPath.index(i);
    const addresses = ss.addresses ?? [];
    const notReady = ss.notReadyAddresses ?? [];
    // Headless services may have subsets without ports, but never without addresses.
    if (addresses.length === 0 && notReady.length === 0)
      errs.push(required(p, 'must specify `addresses` or `notReadyAddresses`'));
    addresses.forEach((a, j) => {
      errs.push(...validateAddress(a, p.child('addresses').index(j)));
    });
    notReady.forEach((a, j) => {
      errs.push(...validateAddress(a, p.child('notReadyAddresses').index(j)));
    });
    const ports = ss.ports ?? [];
    ports.forEach((port, j) => {
      errs.push(...validatePort(port, ports.length > 1, p.child('ports').index(j)));
    });
  });
  return errs;
}

export function validateEndpointsUpdate(ep: Endpoints, old: Endpoints): ErrorList {
  // nodeName may change on update: a reused node IP or pod CIDR moves an address between nodes.
  return [...validateObjectMetaUpdate(ep.metadata, old.metadata, Path.root('metadata')), ...validateEndpoints(ep)];
}

function validateAddress(a: Address, p: Path): ErrorList {
  const ip = a.ip ?? '';
  const errs = isValidIP(p.child('ip'), ip);
  if (a.hostname) errs.push(...validateDNS1123Label(a.hostname, p.child('hostname')));
  if (a.nodeName !== undefined) {
    for (const msg of nameIsDNSSubdomain(a.nodeName, false)) errs.push(invalid(p.child('nodeName'), a.nodeName, msg));
  }
  errs.push(...validateNonSpecialIP(ip, p.child('ip')));
  return errs;
}

function validatePort(port: Port, requireName: boolean, p: Path): ErrorList {
  const errs: ErrorList = [];
  const name = port.name ?? '';
  if (requireName && name.length === 0) errs.push(required(p.child('name'), ''));
  else if (name.length > 0) errs.push(...validateDNS1123Label(name, p.child('name')));
  const num = port.port ?? 0;
  for (const msg of isValidPortNum(num)) errs.push(invalid(p.child('port'), num, msg));
  errs.push(...validateProtocol(port.protocol, p.child('protocol')));
  if (port.appProtocol !== undefined) errs.push(...validateQualifiedName(port.appProtocol, p.child('appProtocol')));
  return errs;
}
