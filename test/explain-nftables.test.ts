// svcnet explain through the nftables plane of svcnet up, with real traffic.
import { describeExplainUp } from './helpers/explain-up.ts';

describeExplainUp('nftables', 'xn');
