// Typed allocation failures. Messages follow MetalLB's (they end up in Service Events, where
// users and docs know them); `code` is what callers branch on.

export type AllocErrorCode =
  | 'NotInPool'
  | 'PoolIncompatible'
  | 'SharingConflict'
  | 'PortConflict'
  | 'Exhausted'
  | 'UnknownPool'
  | 'FamilyMismatch'
  | 'InvalidRequest'
  | 'NoClusterIP';

export class AllocError extends Error {
  constructor(
    readonly code: AllocErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AllocError';
  }
}

export const isAllocError = (e: unknown): e is AllocError => e instanceof AllocError;
