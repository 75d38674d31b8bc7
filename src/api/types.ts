// Object types. Kubernetes kinds come from kubernetes-types (types only, no runtime); MetalLB's
// kinds are written here from metallb.io's CRDs so existing MetalLB manifests apply unchanged.

import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type {
  ConfigMap,
  Container,
  Endpoints,
  Event,
  Namespace,
  Node,
  Pod,
  Service,
  ServiceAccount,
  ServicePort,
  ServiceSpec,
} from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { LabelSelector, ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
  RoleRef,
  Subject,
} from 'kubernetes-types/rbac/v1.js';

export type {
  ClusterRole,
  ClusterRoleBinding,
  ConfigMap,
  Container,
  Deployment,
  Endpoint,
  EndpointPort,
  EndpointSlice,
  Endpoints,
  Event,
  LabelSelector,
  Lease,
  Namespace,
  Node,
  ObjectMeta,
  OwnerReference,
  Pod,
  PolicyRule,
  ReplicaSet,
  Role,
  RoleBinding,
  RoleRef,
  Service,
  ServiceAccount,
  ServicePort,
  ServiceSpec,
  Subject,
};

/** Any stored API object: apiVersion + kind + metadata, the rest is kind-specific. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

// ---- MetalLB (metallb.io) -------------------------------------------------------------------

export interface ServiceAllocation {
  priority?: number;
  namespaces?: string[];
  namespaceSelectors?: LabelSelector[];
  serviceSelectors?: LabelSelector[];
}

/** metallb.io/v1beta1 IPAddressPool */
export interface IPAddressPool {
  apiVersion?: 'metallb.io/v1beta1';
  kind?: 'IPAddressPool';
  metadata?: ObjectMeta;
  spec: {
    /** CIDRs ("192.168.1.0/24") or ranges ("192.168.1.10-192.168.1.20"). */
    addresses: string[];
    autoAssign?: boolean;
    avoidBuggyIPs?: boolean;
    serviceAllocation?: ServiceAllocation;
  };
  status?: {
    assignedIPv4?: number;
    assignedIPv6?: number;
    availableIPv4?: number;
    availableIPv6?: number;
  };
}

/** metallb.io/v1beta1 L2Advertisement */
export interface L2Advertisement {
  apiVersion?: 'metallb.io/v1beta1';
  kind?: 'L2Advertisement';
  metadata?: ObjectMeta;
  spec?: {
    ipAddressPools?: string[];
    ipAddressPoolSelectors?: LabelSelector[];
    nodeSelectors?: LabelSelector[];
    interfaces?: string[];
  };
}

/** metallb.io/v1beta2 BGPPeer */
export interface BGPPeer {
  apiVersion?: 'metallb.io/v1beta2';
  kind?: 'BGPPeer';
  metadata?: ObjectMeta;
  spec: {
    myASN: number;
    peerASN: number;
    peerAddress: string;
    sourceAddress?: string;
    peerPort?: number;
    holdTime?: string;
    keepaliveTime?: string;
    routerID?: string;
    nodeSelectors?: LabelSelector[];
    password?: string;
    passwordSecret?: { name?: string; namespace?: string };
    bfdProfile?: string;
    ebgpMultiHop?: boolean;
    vrf?: string;
  };
}

/** metallb.io/v1beta1 BGPAdvertisement */
export interface BGPAdvertisement {
  apiVersion?: 'metallb.io/v1beta1';
  kind?: 'BGPAdvertisement';
  metadata?: ObjectMeta;
  spec?: {
    aggregationLength?: number;
    aggregationLengthV6?: number;
    localPref?: number;
    communities?: string[];
    ipAddressPools?: string[];
    ipAddressPoolSelectors?: LabelSelector[];
    nodeSelectors?: LabelSelector[];
    peers?: string[];
  };
}

/** metallb.io/v1beta1 Community: named aliases for BGP community values. */
export interface Community {
  apiVersion?: 'metallb.io/v1beta1';
  kind?: 'Community';
  metadata?: ObjectMeta;
  spec?: {
    communities?: { name?: string; value?: string }[];
  };
}

/** metallb.io/v1beta1 BFDProfile (intervals in milliseconds). */
export interface BFDProfile {
  apiVersion?: 'metallb.io/v1beta1';
  kind?: 'BFDProfile';
  metadata?: ObjectMeta;
  spec?: {
    receiveInterval?: number;
    transmitInterval?: number;
    detectMultiplier?: number;
    echoInterval?: number;
    echoMode?: boolean;
    passiveMode?: boolean;
    minimumTtl?: number;
  };
}
