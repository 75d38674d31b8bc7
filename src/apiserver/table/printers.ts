// Server-side printing (pkg/printers/internalversion/printers.go): the columns and cell text a
// real cluster sends in meta.k8s.io/v1 Table responses, so `kubectl get` looks the same here.
import { joinHostPort } from '../../api/ip.ts';
import { labelSelectorAsSelector } from '../../api/labels/selector.ts';
import type {
  Container,
  Deployment,
  EndpointSlice,
  Endpoints,
  Event,
  KubeObject,
  LabelSelector,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
  Service,
} from '../../api/types.ts';
import { age } from './duration.ts';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number;

interface Printer {
  columns: ColumnDefinition[];
  cells(obj: KubeObject, now: number): Cell[];
}

const col = (
  name: string,
  description: string,
  priority = 0,
  type: ColumnDefinition['type'] = 'string',
): ColumnDefinition => ({
  name,
  type,
  format: name === 'Name' ? 'name' : '',
  description,
  priority,
});

const nameCol = col('Name', 'Name must be unique within a namespace.');
const ageCol = col(
  'Age',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

const created = (o: KubeObject) => o.metadata.creationTimestamp as string | undefined;

/** labels.FormatLabels / formatting of a selector map: sorted k=v joined by ",", "<none>" when empty. */
export function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${m?.[k] ?? ''}`).join(',');
}

/** metav1.FormatLabelSelector: the selector as label-selector text, "<none>" when it selects everything. */
export function formatLabelSelector(sel: LabelSelector | undefined): string {
  try {
    return labelSelectorAsSelector(sel).toString() || '<none>';
  } catch {
    return '<error>';
  }
}

/** layoutContainerCells: container names and images, comma-separated. */
function containerCells(containers: readonly Container[]): [string, string] {
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image ?? '').join(',')];
}

const containersCol = col('Containers', 'Names of each container in the template.', 1);
const imagesCol = col('Images', 'Images referenced by each container in the template.', 1);

function listWithMore(list: string[], more: boolean, count: number, max: number, empty: string): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret === '' ? empty : ret;
}

function lbIngress(svc: Service, wide: boolean): string {
  const parts: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (ing.ip) parts.push(ing.ip);
    else if (ing.hostname) parts.push(ing.hostname);
  }
  const r = parts.join(',');
  return !wide && r.length > 16 ? `${r.slice(0, 13)}...` : r;
}

/** getServiceExternalIP */
export function serviceExternalIP(svc: Service, wide: boolean): string {
  const spec = svc.spec ?? {};
  const ext = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
    case undefined:
      return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = lbIngress(svc, wide);
      if (ext.length) return [...(lb ? lb.split(',') : []), ...ext].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

export function servicePorts(svc: Service): string {
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports
    .map((p) => {
      const proto = p.protocol ?? 'TCP';
      return p.nodePort ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
    })
    .join(',');
}

/** formatEndpoints: at most 3 ip:port pairs, then " + N more...". */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    if (!ss.ports || ss.ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const port of ss.ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(a.ip, port.port));
      }
    }
  }
  return listWithMore(list, more, count, max, '');
}

function sliceCells(s: EndpointSlice): Cell[] {
  const max = 3;
  const ports: string[] = [];
  let morePorts = false;
  for (const p of s.ports ?? []) {
    if (ports.length < max) ports.push(p.port !== undefined ? String(p.port) : (p.name ?? '*'));
    else morePorts = true;
  }
  const addrs: string[] = [];
  let moreAddrs = false;
  let count = 0;
  for (const e of s.endpoints ?? []) {
    for (const a of e.addresses) {
      if (addrs.length < max) addrs.push(a);
      else moreAddrs = true;
      count++;
    }
  }
  return [
    s.addressType,
    listWithMore(ports, morePorts, (s.ports ?? []).length, max, '<unset>'),
    listWithMore(addrs, moreAddrs, count, max, '<unset>'),
  ];
}

function podCells(p: Pod, wide: boolean): Cell[] {
  const statuses = p.status?.containerStatuses ?? [];
  const total = p.spec?.containers?.length ?? 0;
  const ready = statuses.filter((c) => c.ready).length;
  const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  let reason = p.status?.reason ?? p.status?.phase ?? 'Pending';
  for (const c of statuses) {
    const w = c.state?.waiting?.reason;
    const t = c.state?.terminated?.reason;
    if (w) reason = w;
    else if (t && !c.ready && p.status?.phase !== 'Running') reason = t;
  }
  if (p.metadata?.deletionTimestamp) reason = 'Terminating';
  const cells: Cell[] = [`${ready}/${total}`, reason, restarts];
  if (wide) {
    cells.push(p.status?.podIP ?? '<none>', p.spec?.nodeName ?? '<none>', p.status?.nominatedNodeName ?? '<none>');
    const gates = p.spec?.readinessGates ?? [];
    cells.push(gates.length ? `${gates.length}` : '<none>');
  }
  return cells;
}

function nodeCells(n: Node): Cell[] {
  const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
  let status = ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown';
  if (n.spec?.unschedulable) status += ',SchedulingDisabled';
  const roles = Object.keys(n.metadata?.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '')
    .sort();
  return [status, roles.length ? roles.join(',') : '<none>'];
}

const printers: Record<string, Printer> = {
  services: {
    columns: [
      nameCol,
      col('Type', 'type determines how the Service is exposed.'),
      col('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
      col(
        'External-IP',
        'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
      ),
      col('Port(s)', 'The list of ports that are exposed by this service.'),
      ageCol,
      col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', 1),
    ],
    cells(o, now) {
      const s = o as unknown as Service;
      return [
        s.metadata?.name ?? '',
        s.spec?.type ?? 'ClusterIP',
        s.spec?.clusterIP || '<none>',
        serviceExternalIP(s, false),
        servicePorts(s),
        age(created(o), now),
        formatLabels(s.spec?.selector),
      ];
    },
  },
  endpoints: {
    columns: [nameCol, col('Endpoints', 'Endpoints of the service'), ageCol],
    cells: (o, now) => [o.metadata.name ?? '', formatEndpoints(o as unknown as Endpoints), age(created(o), now)],
  },
  endpointslices: {
    columns: [
      nameCol,
      col('AddressType', 'The IP protocol for this slice'),
      col('Ports', 'The ports for this slice'),
      col('Endpoints', 'The endpoints for this slice'),
      ageCol,
    ],
    cells: (o, now) => [o.metadata.name ?? '', ...sliceCells(o as unknown as EndpointSlice), age(created(o), now)],
  },
  pods: {
    columns: [
      nameCol,
      col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'The number of times the containers in this pod have been restarted.', 0, 'string'),
      ageCol,
      col('IP', 'IP address allocated to the pod.', 1),
      col('Node', 'Name of the Node this pod is assigned to.', 1),
      col('Nominated Node', 'Name of the node nominated by the scheduler.', 1),
      col('Readiness Gates', 'All the readiness gates of the pod.', 1),
    ],
    cells: (o, now) => {
      const c = podCells(o as unknown as Pod, true);
      return [o.metadata.name ?? '', c[0] ?? '', c[1] ?? '', String(c[2] ?? 0), age(created(o), now), ...c.slice(3)];
    },
  },
  nodes: {
    columns: [
      nameCol,
      col('Status', 'The status of the node'),
      col('Roles', 'The roles of the node'),
      ageCol,
      col('Version', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'List of internal IPs for the node.', 1),
    ],
    cells: (o, now) => {
      const n = o as unknown as Node;
      const internal = (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
      return [
        o.metadata.name ?? '',
        ...nodeCells(n),
        age(created(o), now),
        n.status?.nodeInfo?.kubeletVersion ?? '',
        internal.length ? internal.join(',') : '<none>',
      ];
    },
  },
  namespaces: {
    columns: [nameCol, col('Status', 'The status of the namespace'), ageCol],
    cells: (o, now) => [
      o.metadata.name ?? '',
      (o as unknown as Namespace).status?.phase ?? 'Active',
      age(created(o), now),
    ],
  },
  deployments: {
    columns: [
      nameCol,
      col('Ready', 'Number of the pod with ready state'),
      col(
        'Up-to-date',
        'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
        0,
        'integer',
      ),
      col(
        'Available',
        'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
        0,
        'integer',
      ),
      ageCol,
      containersCol,
      imagesCol,
      col('Selector', 'Label selector for pods.', 1),
    ],
    cells: (o, now) => {
      const d = o as unknown as Deployment;
      return [
        o.metadata.name ?? '',
        `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
        d.status?.updatedReplicas ?? 0,
        d.status?.availableReplicas ?? 0,
        age(created(o), now),
        ...containerCells(d.spec?.template?.spec?.containers ?? []),
        formatLabelSelector(d.spec?.selector),
      ];
    },
  },
  replicasets: {
    columns: [
      nameCol,
      col(
        'Desired',
        'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
        0,
        'integer',
      ),
      col(
        'Current',
        'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
        0,
        'integer',
      ),
      col(
        'Ready',
        'readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.',
        0,
        'integer',
      ),
      ageCol,
      containersCol,
      imagesCol,
      col(
        'Selector',
        "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
        1,
      ),
    ],
    cells: (o, now) => {
      const rs = o as unknown as ReplicaSet;
      return [
        o.metadata.name ?? '',
        rs.spec?.replicas ?? 0,
        rs.status?.replicas ?? 0,
        rs.status?.readyReplicas ?? 0,
        age(created(o), now),
        ...containerCells(rs.spec?.template?.spec?.containers ?? []),
        formatLabelSelector(rs.spec?.selector),
      ];
    },
  },
  events: {
    columns: [
      col('Last Seen', 'Time when last event occurred'),
      col('Type', 'Type of this event (Normal, Warning).'),
      col('Reason', 'Short, machine understandable string that gives the reason for the transition.'),
      col('Object', 'The object that this event is about.'),
      col('Message', 'A human-readable description of the status of this operation.'),
    ],
    cells: (o, now) => {
      const e = o as unknown as Event;
      const last = (e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp) as string | undefined;
      const obj = `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name ?? ''}`;
      return [age(last, now), e.type ?? '', e.reason ?? '', obj, (e.message ?? '').trim()];
    },
  },
};

const genericPrinter: Printer = {
  columns: [nameCol, ageCol],
  cells: (o, now) => [o.metadata.name ?? '', age(created(o), now)],
};

export function printerFor(resource: string): Printer {
  return printers[resource] ?? genericPrinter;
}
