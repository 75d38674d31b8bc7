// The pool-change guard as an apiserver admission check: an IPAddressPool update or delete that
// would strand an address some Service shows in status.loadBalancer.ingress is refused by the
// API itself (422), not only ignored by the controller.
import type { ErrorList } from '../../api/field.ts';
import type { IPAddressPool, KubeObject, Namespace, Service } from '../../api/types.ts';
import type { Admission, ListFn } from '../../apiserver/registry/types.ts';
import { type LiveAllocation, validatePoolChange } from './pool-change.ts';

async function context(list: ListFn, changed: KubeObject) {
  const services = (await list('services')) as unknown as Service[];
  const live: LiveAllocation[] = services
    .filter((s) => s.spec?.type === 'LoadBalancer')
    .map((s) => ({
      service: `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`,
      ips: (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
      labels: s.metadata?.labels ?? {},
    }))
    .filter((l) => l.ips.length > 0);
  const pools = (await list('ipaddresspools')) as unknown as IPAddressPool[];
  const same = (p: IPAddressPool) =>
    p.metadata?.name === changed.metadata.name && p.metadata?.namespace === changed.metadata.namespace;
  const namespaces = (await list('namespaces')) as unknown as Namespace[];
  return { live, otherPools: pools.filter((p) => !same(p)), namespaces };
}

export const ipAddressPoolAdmission: Admission = {
  resource: 'ipaddresspools',
  async validateUpdate(obj, old, list): Promise<ErrorList> {
    const { live, ...ctx } = await context(list, obj);
    return validatePoolChange(old as unknown as IPAddressPool, obj as unknown as IPAddressPool, live, ctx);
  },
  async validateDelete(obj, list): Promise<ErrorList> {
    const { live, ...ctx } = await context(list, obj);
    return validatePoolChange(obj as unknown as IPAddressPool, undefined, live, ctx);
  },
};
