// metallb.io CRDs (metallb/metallb api/v1beta1, api/v1beta2). CRDs have no protobuf form and no
// patch strategies: the apiserver serves them as JSON only, and strategic merge patch is refused.
import { LabelSelector, ObjectMeta, TypeMeta } from './meta.ts';
import type { MessageSchema } from './types.ts';

const selectors = { t: 'array', of: LabelSelector } as const;

export const IPAddressPool = {
  ...TypeMeta,
  metadata: { t: 'object', of: ObjectMeta },
  spec: {
    t: 'object',
    of: {
      addresses: { t: 'array', of: 'string' },
      autoAssign: { t: 'bool' },
      avoidBuggyIPs: { t: 'bool' },
      serviceAllocation: {
        t: 'object',
        of: {
          priority: { t: 'int64' },
          namespaces: { t: 'array', of: 'string' },
          namespaceSelectors: selectors,
          serviceSelectors: selectors,
        },
      },
    },
  },
  status: {
    t: 'object',
    of: {
      assignedIPv4: { t: 'int64' },
      assignedIPv6: { t: 'int64' },
      availableIPv4: { t: 'int64' },
      availableIPv6: { t: 'int64' },
    },
  },
} as const satisfies MessageSchema;

export const L2Advertisement = {
  ...TypeMeta,
  metadata: { t: 'object', of: ObjectMeta },
  spec: {
    t: 'object',
    of: {
      ipAddressPools: { t: 'array', of: 'string' },
      ipAddressPoolSelectors: selectors,
      nodeSelectors: selectors,
      interfaces: { t: 'array', of: 'string' },
    },
  },
  status: { t: 'object', of: {} },
} as const satisfies MessageSchema;

export const BGPPeer = {
  ...TypeMeta,
  metadata: { t: 'object', of: ObjectMeta },
  spec: {
    t: 'object',
    of: {
      myASN: { t: 'int64' },
      peerASN: { t: 'int64' },
      dynamicASN: { t: 'string' },
      peerAddress: { t: 'string' },
      sourceAddress: { t: 'string' },
      peerPort: { t: 'int32' },
      // metav1.Duration: a Go duration string ("90s").
      holdTime: { t: 'string' },
      keepaliveTime: { t: 'string' },
      connectTime: { t: 'string' },
      routerID: { t: 'string' },
      nodeSelectors: selectors,
      password: { t: 'string' },
      passwordSecret: { t: 'object', of: { name: { t: 'string' }, namespace: { t: 'string' } } },
      bfdProfile: { t: 'string' },
      enableGracefulRestart: { t: 'bool' },
      ebgpMultiHop: { t: 'bool' },
      vrf: { t: 'string' },
      disableMP: { t: 'bool' },
    },
  },
  status: { t: 'object', of: {} },
} as const satisfies MessageSchema;

export const BGPAdvertisement = {
  ...TypeMeta,
  metadata: { t: 'object', of: ObjectMeta },
  spec: {
    t: 'object',
    of: {
      aggregationLength: { t: 'int32' },
      aggregationLengthV6: { t: 'int32' },
      localPref: { t: 'int64' },
      communities: { t: 'array', of: 'string' },
      ipAddressPools: { t: 'array', of: 'string' },
      ipAddressPoolSelectors: selectors,
      nodeSelectors: selectors,
      peers: { t: 'array', of: 'string' },
    },
  },
  status: { t: 'object', of: {} },
} as const satisfies MessageSchema;

export const Community = {
  ...TypeMeta,
  metadata: { t: 'object', of: ObjectMeta },
  spec: {
    t: 'object',
    of: { communities: { t: 'array', of: { name: { t: 'string' }, value: { t: 'string' } } } },
  },
  status: { t: 'object', of: {} },
} as const satisfies MessageSchema;

export const BFDProfile = {
  ...TypeMeta,
  metadata: { t: 'object', of: ObjectMeta },
  spec: {
    t: 'object',
    of: {
      receiveInterval: { t: 'int64' },
      transmitInterval: { t: 'int64' },
      detectMultiplier: { t: 'int64' },
      echoInterval: { t: 'int64' },
      echoMode: { t: 'bool' },
      passiveMode: { t: 'bool' },
      minimumTtl: { t: 'int64' },
    },
  },
  status: { t: 'object', of: {} },
} as const satisfies MessageSchema;
