// Node validation (ValidateNode / ValidateNodeUpdate): names are DNS subdomains; podCIDRs are
// CIDRs, at most one per family, and fixed once set (the node IPAM owns them).
import { type ErrorList, forbidden, invalid, notSupported, Path, required } from '../field.ts';
import { cidrFamilyOf } from '../ip.ts';
import type { Node } from '../types.ts';
import { jsonEqual, validateQualifiedName } from './common.ts';
import { isValidCIDRForLegacyField } from './ip.ts';
import { isValidLabelValue, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './names.ts';

const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

export function validateNode(node: Node): ErrorList {
  const errs = validateObjectMeta(
    node.metadata,
    { namespaced: false, nameFn: nameIsDNSSubdomain },
    Path.root('metadata'),
  );
  const cidrs = node.spec?.podCIDRs ?? [];
  const cidrPath = Path.of('spec', 'podCIDRs');
  cidrs.forEach((c, i) => {
    errs.push(...isValidCIDRForLegacyField(cidrPath.index(i), c, false));
  });
  if (cidrs.length > 1) {
    const fams = new Set(cidrs.map(cidrFamilyOf));
    if (cidrs.length > 2 || fams.size !== 2 || fams.has(undefined))
      errs.push(invalid(cidrPath, cidrs, 'may specify no more than one CIDR for each IP family'));
  }
  (node.spec?.taints ?? []).forEach((t, i) => {
    const p = Path.of('spec', 'taints').index(i);
    errs.push(...validateQualifiedName(t.key ?? '', p.child('key')));
    if (t.value) for (const msg of isValidLabelValue(t.value)) errs.push(invalid(p.child('value'), t.value, msg));
    if (!t.effect) errs.push(required(p.child('effect'), ''));
    else if (!(taintEffects as readonly string[]).includes(t.effect))
      errs.push(notSupported(p.child('effect'), t.effect, taintEffects));
  });
  return errs;
}

export function validateNodeUpdate(node: Node, old: Node): ErrorList {
  const errs = [...validateObjectMetaUpdate(node.metadata, old.metadata, Path.root('metadata')), ...validateNode(node)];
  const oldCIDRs = old.spec?.podCIDRs ?? [];
  if (oldCIDRs.length > 0 && !jsonEqual(node.spec?.podCIDRs ?? [], oldCIDRs))
    errs.push(forbidden(Path.of('spec', 'podCIDRs'), 'node updates may not change podCIDR except from "" to valid'));
  const oldProvider = old.spec?.providerID ?? '';
  if (oldProvider !== '' && (node.spec?.providerID ?? '') !== oldProvider)
    errs.push(
      forbidden(Path.of('spec', 'providerID'), 'node updates may not change providerID except from "" to valid'),
    );
  return errs;
}
