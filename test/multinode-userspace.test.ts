// A 3-node lab with the userspace plane: every cross-node Service behaviour (helpers/multinode-suite.ts).
import { multinodeSuite } from './helpers/multinode-suite.ts';

multinodeSuite('userspace', 24000);
