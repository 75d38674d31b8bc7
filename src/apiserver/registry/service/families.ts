// alloc.go initIPFamilyFields (§1.26, §2.9, §2.10): settle ipFamilyPolicy and ipFamilies against
// the families this cluster serves, before any address is allocated. Runs on create and update,
// also for dry-run, so the defaults are visible in a dry-run answer. Errors are 422s.
import { type ErrorList, invalid, Path } from '../../../api/field.ts';
import { type IPFamily, ipFamilyOf } from '../../../api/ip.ts';
import { validateClusterIPsRelatedFields } from '../../../api/service/validation.ts';
import { type ApiError, newInvalid } from '../../../api/status.ts';
import type { Service } from '../../../api/types.ts';
import {
  ClusterIPNone,
  clusterIPOf,
  clusterIPsOf,
  familiesOf,
  nameOf,
  policyOf,
  sameStrings,
  specOf,
  typeOf,
} from './helpers.ts';

export interface FamilyConfig {
  /** Families with a configured service CIDR. */
  readonly families: ReadonlySet<IPFamily>;
  /** The family of the first --service-cluster-ip-range. */
  readonly defaultFamily: IPFamily;
}

const serviceKind = { group: '', kind: 'Service' };
const policyPath = Path.of('spec', 'ipFamilyPolicy');

export function invalidService(svc: Service, errs: ErrorList): ApiError {
  return newInvalid(serviceKind, nameOf(svc), errs);
}

const otherFamily = (f: string): IPFamily => (f === 'IPv4' ? 'IPv6' : 'IPv4');

/**
 * isMatchingPreferDualStackClusterIPFields: an unchanged PreferDualStack service is left alone, so
 * it is never silently upgraded or downgraded after the cluster gained or lost a family.
 */
export function isMatchingPreferDualStack(svc: Service, old: Service | undefined): boolean {
  if (!old || svc.spec?.ipFamilyPolicy === undefined) return false;
  if (typeOf(old) !== typeOf(svc)) return false;
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(typeOf(svc))) return false;
  if (policyOf(svc) !== 'PreferDualStack') return false;
  if (old.spec?.ipFamilyPolicy !== undefined && policyOf(old) !== 'PreferDualStack') return false;
  return sameStrings(clusterIPsOf(old), clusterIPsOf(svc)) && sameStrings(familiesOf(old), familiesOf(svc));
}

export function initIPFamilyFields(svc: Service, old: Service | undefined, cfg: FamilyConfig): void {
  if (typeOf(svc) === 'ExternalName') return;
  if (isMatchingPreferDualStack(svc, old)) return;
  const spec = specOf(svc);

  // No static default: create means SingleStack, update keeps the old policy (a PUT that drops
  // the secondary IP without naming a policy must not flip modes); headless without a selector
  // is the one case that defaults to dual-stack.
  if (spec.ipFamilyPolicy === undefined) {
    if (old?.spec?.ipFamilyPolicy !== undefined) spec.ipFamilyPolicy = old.spec.ipFamilyPolicy;
    else if (clusterIPOf(svc) === ClusterIPNone && Object.keys(spec.selector ?? {}).length === 0) {
      spec.ipFamilyPolicy = 'RequireDualStack';
    } else spec.ipFamilyPolicy = 'SingleStack';
  }

  // alloc.go's "loose pre-validation": later steps may assume well-formed, family-consistent input.
  const pre = validateClusterIPsRelatedFields(svc, old ? clusterIPsOf(old) : []);
  if (pre.length > 0) throw invalidService(svc, pre);

  const errs: ErrorList = [];
  if (old) {
    if (policyOf(svc) === 'SingleStack') {
      // Setting SingleStack with the dual fields untouched is clear intent; [0] is immutable.
      if (sameStrings(clusterIPsOf(old), clusterIPsOf(svc)) && clusterIPsOf(svc).length > 1) {
        spec.clusterIPs = clusterIPsOf(svc).slice(0, 1);
      }
      if (sameStrings(familiesOf(old), familiesOf(svc)) && familiesOf(svc).length > 1) {
        spec.ipFamilies = familiesOf(svc).slice(0, 1);
      }
    } else {
      const n = clusterIPsOf(svc).length;
      if (n > 0 && n < clusterIPsOf(old).length) {
        errs.push(invalid(policyPath, policyOf(svc), "must be 'SingleStack' to release the secondary cluster IP"));
      }
      const m = familiesOf(svc).length;
      if (m > 0 && m < familiesOf(old).length) {
        errs.push(invalid(policyPath, policyOf(svc), "must be 'SingleStack' to release the secondary IP family"));
      }
    }
  }

  if (policyOf(svc) === 'SingleStack') {
    if (clusterIPsOf(svc).length === 2) {
      errs.push(
        invalid(
          policyPath,
          policyOf(svc),
          "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
        ),
      );
    }
    if (familiesOf(svc).length === 2) {
      errs.push(
        invalid(
          policyPath,
          policyOf(svc),
          "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
        ),
      );
    }
  }

  // Infer ipFamilies[] from clusterIPs[].
  const ips = clusterIPsOf(svc);
  for (let i = 0; i < ips.length; i++) {
    const ip = ips[i] ?? '';
    if (ip === ClusterIPNone) break;
    const fam = ipFamilyOf(ip);
    if (fam === undefined || i < familiesOf(svc).length) continue;
    if (!cfg.families.has(fam)) {
      errs.push(invalid(Path.of('spec', 'clusterIPs').index(i), ips, `${fam} is not configured on this cluster`));
    } else {
      spec.ipFamilies = [...familiesOf(svc), fam];
    }
  }
  if (errs.length > 0) throw invalidService(svc, errs);

  // Headless without a selector may name families the cluster lacks (its endpoints are user-made).
  if (clusterIPOf(svc) === ClusterIPNone && Object.keys(spec.selector ?? {}).length === 0) {
    if (familiesOf(svc).length === 0) spec.ipFamilies = [cfg.defaultFamily];
    const first = familiesOf(svc)[0] ?? cfg.defaultFamily;
    if (familiesOf(svc).length < 2 && policyOf(svc) !== 'SingleStack') spec.ipFamilies = [first, otherFamily(first)];
    return;
  }

  if (policyOf(svc) === 'RequireDualStack' && cfg.families.size < 2) {
    errs.push(invalid(policyPath, policyOf(svc), 'this cluster is not configured for dual-stack services'));
  }
  familiesOf(svc).forEach((f, i) => {
    if (!cfg.families.has(f as IPFamily)) {
      errs.push(invalid(Path.of('spec', 'ipFamilies').index(i), f, 'not configured on this cluster'));
    }
  });
  if (errs.length > 0) throw invalidService(svc, errs);

  if (familiesOf(svc).length === 0) spec.ipFamilies = [cfg.defaultFamily];
  const first = familiesOf(svc)[0] ?? cfg.defaultFamily;
  if (policyOf(svc) !== 'SingleStack' && familiesOf(svc).length === 1 && cfg.families.size === 2) {
    spec.ipFamilies = [first, otherFamily(first)];
  }
}
