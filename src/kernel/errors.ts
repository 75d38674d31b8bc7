// Typed kernel errors. The real seams map iproute2's messages onto these codes and the fakes
// throw the same codes, so callers (and tests) branch on `code`, never on message text.
import { isExecError } from './exec.ts';

export type KernelErrorCode = 'ALREADY_EXISTS' | 'NOT_FOUND' | 'INVALID' | 'REFUSED' | 'FAILED';

export class KernelError extends Error {
  readonly code: KernelErrorCode;
  constructor(code: KernelErrorCode, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'KernelError';
    this.code = code;
  }
}

export function isKernelError(e: unknown, code?: KernelErrorCode): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}

/** Classifies a failed `ip …` run by its stderr (iproute2 prints errno texts). */
export function fromExec(e: unknown): unknown {
  if (!isExecError(e) || e.code !== 'EXEC_FAILED') return e;
  const s = e.stderr;
  const code: KernelErrorCode = /File exists|already exists/i.test(s)
    ? 'ALREADY_EXISTS'
    : /Cannot find device|No such file|No such process|does not exist|Cannot open network namespace|Cannot assign requested address/i.test(
          s,
        )
      ? 'NOT_FOUND'
      : /Invalid argument|invalid|Nexthop has invalid gateway|Error:/i.test(s)
        ? 'INVALID'
        : 'FAILED';
  return new KernelError(code, e.message, e);
}
