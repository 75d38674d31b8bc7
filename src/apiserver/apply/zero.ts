// The empty object of each kind as kube-apiserver's typed structs marshal it: fields without
// omitempty are present even when zero. A create is tracked as a change from this object, so which
// parents a manager owns as fields of their own (".": {} in fieldsV1) matches a real cluster's
// managedFields: `spec` exists in every empty Service, `spec.ports` does not.
import type { Json } from './fieldpath.ts';

type Obj = Record<string, Json>;

const meta = (): Obj => ({ creationTimestamp: null });
const podTemplate = (): Obj => ({ metadata: meta(), spec: { containers: null } });

const zeros: Readonly<Record<string, () => Obj>> = {
  Service: () => ({ metadata: meta(), spec: {}, status: { loadBalancer: {} } }),
  Endpoints: () => ({ metadata: meta() }),
  Pod: () => ({ metadata: meta(), spec: { containers: null }, status: {} }),
  Node: () => ({
    metadata: meta(),
    spec: {},
    status: { daemonEndpoints: { kubeletEndpoint: { Port: 0 } }, nodeInfo: {} },
  }),
  Namespace: () => ({ metadata: meta(), spec: {}, status: {} }),
  Event: () => ({
    metadata: meta(),
    involvedObject: {},
    source: {},
    firstTimestamp: null,
    lastTimestamp: null,
    eventTime: null,
  }),
  EndpointSlice: () => ({ metadata: meta(), addressType: '', endpoints: null }),
  Deployment: () => ({ metadata: meta(), spec: { selector: null, template: podTemplate(), strategy: {} }, status: {} }),
  ReplicaSet: () => ({ metadata: meta(), spec: { selector: null, template: podTemplate() }, status: { replicas: 0 } }),
  Lease: () => ({ metadata: meta(), spec: {} }),
  ServiceAccount: () => ({ metadata: meta() }),
  ConfigMap: () => ({ metadata: meta() }),
  Role: () => ({ metadata: meta(), rules: null }),
  ClusterRole: () => ({ metadata: meta(), rules: null }),
  RoleBinding: () => ({ metadata: meta(), roleRef: { apiGroup: '', kind: '', name: '' } }),
  ClusterRoleBinding: () => ({ metadata: meta(), roleRef: { apiGroup: '', kind: '', name: '' } }),
};

/** Custom resources (MetalLB's) are unstructured: their empty object is empty. */
export function zeroObject(kind: string): Obj {
  return zeros[kind]?.() ?? {};
}
