// A 3-node lab with the nftables plane: every cross-node Service behaviour (helpers/multinode-suite.ts).
import { multinodeSuite } from './helpers/multinode-suite.ts';

multinodeSuite('nftables', 22000);
