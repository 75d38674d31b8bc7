// The schema registry: one table per served kind (src/api/resources.ts), looked up by resource
// plural, Kind or group/Kind.
import { type ResourceInfo, resources } from '../../api/resources.ts';
import { Deployment, ReplicaSet } from './apps.ts';
import { Lease } from './coordination.ts';
import { Endpoints, Event, Namespace, Node, Pod, Service } from './core.ts';
import { EndpointSlice } from './discovery.ts';
import { BFDProfile, BGPAdvertisement, BGPPeer, Community, IPAddressPool, L2Advertisement } from './metallb.ts';
import {
  ClusterRole,
  ClusterRoleBinding,
  ConfigMap,
  Role,
  RoleBinding,
  SelfSubjectAccessReview,
  SelfSubjectRulesReview,
  ServiceAccount,
  TokenRequest,
} from './rbac.ts';
import type { MessageSchema } from './types.ts';

export interface KindSchema {
  readonly info: ResourceInfo;
  readonly schema: MessageSchema;
  /** Built-in (compiled) type: has a protobuf form and strategic-merge metadata; CRDs have neither. */
  readonly builtin: boolean;
}

const tables: Readonly<Record<string, MessageSchema>> = {
  Service,
  Endpoints,
  Pod,
  Node,
  Namespace,
  Event,
  EndpointSlice,
  Deployment,
  ReplicaSet,
  Lease,
  IPAddressPool,
  L2Advertisement,
  BGPPeer,
  BGPAdvertisement,
  Community,
  BFDProfile,
  ServiceAccount,
  ConfigMap,
  Role,
  RoleBinding,
  ClusterRole,
  ClusterRoleBinding,
  SelfSubjectAccessReview,
  SelfSubjectRulesReview,
};

const entries: readonly KindSchema[] = resources.map((info) => {
  const schema = tables[info.kind];
  // A served kind without a table is a programming error; fail at import, not per request.
  if (!schema) throw new Error(`no schema for served kind ${info.kind}`);
  return { info, schema, builtin: info.group !== 'metallb.io' };
});

/** Kinds that are request bodies of a subresource only (serviceaccounts/token), never stored. */
const bodyOnly: readonly KindSchema[] = [
  {
    info: {
      resource: 'tokenrequests',
      singular: 'tokenrequest',
      kind: 'TokenRequest',
      listKind: 'TokenRequestList',
      group: 'authentication.k8s.io',
      version: 'v1',
      namespaced: true,
      shortNames: [],
      categories: [],
      subresources: [],
    },
    schema: TokenRequest,
    builtin: true,
  },
];

const lookup = new Map<string, KindSchema>();
for (const e of bodyOnly) lookup.set(`${e.info.group}/${e.info.kind}`, e);
for (const e of entries) {
  lookup.set(e.info.resource, e);
  lookup.set(e.info.kind, e);
  lookup.set(`${e.info.group}/${e.info.kind}`, e);
}

/** By ResourceInfo, plural resource ("services"), Kind ("Service") or "group/Kind". */
export function kindSchema(resourceOrKind: ResourceInfo | string): KindSchema | undefined {
  const key = typeof resourceOrKind === 'string' ? resourceOrKind : resourceOrKind.resource;
  return lookup.get(key);
}

export const kindSchemas: readonly KindSchema[] = entries;
