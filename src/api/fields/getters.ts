// Selectable fields per resource: which `fieldSelector` labels each resource accepts and the
// string value each has on an object. Mirrors the apiserver's per-kind field label conversion
// funcs (which labels are accepted) and GetAttrs/ToSelectableFields (what they read); values
// are Go-formatted (bools as "true"/"false", a missing field as "").

type Getter = (obj: Obj) => string;
type Obj = Readonly<Record<string, unknown>>;

function at(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

const str =
  (...path: string[]): Getter =>
  (o) => {
    const v = at(o, ...path);
    return typeof v === 'string' ? v : '';
  };
const bool =
  (...path: string[]): Getter =>
  (o) =>
    at(o, ...path) === true ? 'true' : 'false';

const name = str('metadata', 'name');
const namespace = str('metadata', 'namespace');
const meta = { 'metadata.name': name, 'metadata.namespace': namespace } as const;

/** Pod status.podIP is the primary address; newer objects may carry only status.podIPs. */
const podIP: Getter = (o) => {
  const ip = str('status', 'podIP')(o);
  if (ip) return ip;
  const ips = at(o, 'status', 'podIPs');
  const first: unknown = Array.isArray(ips) ? ips[0] : undefined;
  const v = at(first, 'ip');
  return typeof v === 'string' ? v : '';
};

const table: Readonly<Record<string, Readonly<Record<string, Getter>>>> = {
  pods: {
    ...meta,
    'spec.nodeName': str('spec', 'nodeName'),
    'spec.restartPolicy': str('spec', 'restartPolicy'),
    'spec.schedulerName': str('spec', 'schedulerName'),
    'spec.serviceAccountName': str('spec', 'serviceAccountName'),
    'spec.hostNetwork': bool('spec', 'hostNetwork'),
    'status.phase': str('status', 'phase'),
    'status.podIP': podIP,
    'status.nominatedNodeName': str('status', 'nominatedNodeName'),
  },
  events: {
    ...meta,
    'involvedObject.kind': str('involvedObject', 'kind'),
    'involvedObject.namespace': str('involvedObject', 'namespace'),
    'involvedObject.name': str('involvedObject', 'name'),
    'involvedObject.uid': str('involvedObject', 'uid'),
    'involvedObject.apiVersion': str('involvedObject', 'apiVersion'),
    'involvedObject.resourceVersion': str('involvedObject', 'resourceVersion'),
    'involvedObject.fieldPath': str('involvedObject', 'fieldPath'),
    reason: str('reason'),
    reportingComponent: str('reportingComponent'),
    // core/v1 Event's "source" is source.component.
    source: str('source', 'component'),
    type: str('type'),
  },
  services: { ...meta, 'spec.clusterIP': str('spec', 'clusterIP'), 'spec.type': str('spec', 'type') },
  // Cluster-scoped kinds accept metadata.name but not metadata.namespace, as their conversion funcs.
  nodes: { 'metadata.name': name, 'spec.unschedulable': bool('spec', 'unschedulable') },
  namespaces: { 'metadata.name': name, 'status.phase': str('status', 'phase') },
};

/** Legacy spellings rewritten before matching (old v1 clients sent spec.host for pods). */
const aliases: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  pods: { 'spec.host': 'spec.nodeName' },
};

function gettersFor(resource: string): Readonly<Record<string, Getter>> {
  return Object.hasOwn(table, resource) ? (table[resource] ?? meta) : meta;
}

/** The canonical label for `label` on `resource`, or undefined when it is not selectable. */
export function resolveFieldLabel(resource: string, label: string): string | undefined {
  const alias = Object.hasOwn(aliases, resource) ? aliases[resource] : undefined;
  const canonical = alias && Object.hasOwn(alias, label) ? (alias[label] ?? label) : label;
  return Object.hasOwn(gettersFor(resource), canonical) ? canonical : undefined;
}

export function supportedFieldLabels(resource: string): string[] {
  return Object.keys(gettersFor(resource));
}

/** The selectable fields of `obj` as a plain map (fields.Set); absent fields read as "". */
export function fieldsOf(resource: string, obj: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [label, get] of Object.entries(gettersFor(resource))) out[label] = get(obj as Obj);
  return out;
}
