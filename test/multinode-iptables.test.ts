// A 3-node lab with the iptables plane: every cross-node Service behaviour (helpers/multinode-suite.ts).
import { multinodeSuite } from './helpers/multinode-suite.ts';

multinodeSuite('iptables', 23000);
