// svcnet explain through the userspace plane of svcnet up (as root, VIPs in the lab node), with real traffic.
import { describeExplainUp } from './helpers/explain-up.ts';

describeExplainUp('userspace', 'xu');
