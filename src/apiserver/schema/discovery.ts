// discovery.k8s.io/v1 (k8s.io/api/discovery/v1/generated.proto). endpoints and ports are atomic
// lists (no patch strategy): a strategic merge patch replaces them whole, as upstream.
import { ObjectReference } from './core.ts';
import { ObjectMeta, TypeMeta } from './meta.ts';
import type { MessageSchema } from './types.ts';

export const EndpointConditions = {
  ready: { n: 1, t: 'bool', ptr: true },
  serving: { n: 2, t: 'bool', ptr: true },
  terminating: { n: 3, t: 'bool', ptr: true },
} as const satisfies MessageSchema;

const ForZone = { name: { n: 1, t: 'string' } } as const satisfies MessageSchema;

export const Endpoint = {
  addresses: { n: 1, t: 'array', of: 'string' },
  conditions: { n: 2, t: 'object', of: EndpointConditions },
  hostname: { n: 3, t: 'string', ptr: true },
  targetRef: { n: 4, t: 'object', of: ObjectReference, ptr: true },
  deprecatedTopology: { n: 5, t: 'map', of: 'string' },
  nodeName: { n: 6, t: 'string', ptr: true },
  zone: { n: 7, t: 'string', ptr: true },
  // forNodes (1.33) has no field number in the 1.32 proto; JSON clients may still send it.
  hints: {
    n: 8,
    t: 'object',
    ptr: true,
    of: { forZones: { n: 1, t: 'array', of: ForZone }, forNodes: { n: 2, t: 'array', of: ForZone } },
  },
} as const satisfies MessageSchema;

export const DiscoveryEndpointPort = {
  name: { n: 1, t: 'string', ptr: true },
  protocol: { n: 2, t: 'string', ptr: true },
  port: { n: 3, t: 'int32', ptr: true },
  appProtocol: { n: 4, t: 'string', ptr: true },
} as const satisfies MessageSchema;

export const EndpointSlice = {
  ...TypeMeta,
  metadata: { n: 1, t: 'object', of: ObjectMeta },
  addressType: { n: 4, t: 'string' },
  endpoints: { n: 2, t: 'array', of: Endpoint },
  ports: { n: 3, t: 'array', of: DiscoveryEndpointPort },
} as const satisfies MessageSchema;
