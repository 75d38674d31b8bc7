// The packet-flow conformance suite on the userspace plane, through its real listener table and
// routing code (no sockets are opened: load() maps VIPs and renders, trace() routes).
import { UserspacePlane } from '../userspace/plane.ts';
import { describeConformance } from './describe.ts';

describeConformance('conformance: userspace plane', () => new UserspacePlane(), { atMost: 4 });
