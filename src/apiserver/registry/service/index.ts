export type { ServiceAllocators } from './alloc.ts';
export type { ServiceObject } from './helpers.ts';
export { newRepairState, type RepairFinding, type RepairReport, type RepairState, repairAllocators } from './repair.ts';
export {
  createServiceAllocators,
  createServiceStrategy,
  defaultNodePortRange,
  type ServiceStrategyHandle,
  type ServiceStrategyOptions,
  type ServiceStrategyResult,
} from './strategy.ts';
