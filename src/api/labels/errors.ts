// Selector errors. A bad `labelSelector` / `fieldSelector` query parameter is a client error:
// the apiserver answers 400 BadRequest with the parser's message as the Status message
// (apiserver handlers wrap the decode error in errors.NewBadRequest). Subclassing ApiError means
// anything that catches and converts with toStatus() already produces that answer.
import { ApiError, newBadRequest } from '../status.ts';

export type SelectorErrorCode = 'InvalidLabelSelector' | 'InvalidFieldSelector' | 'FieldLabelNotSupported';

export class SelectorError extends ApiError {
  /** Stable machine code; `code` (inherited) stays the HTTP status, 400. */
  readonly selectorCode: SelectorErrorCode;
  constructor(selectorCode: SelectorErrorCode, message: string) {
    super(newBadRequest(message).status);
    this.name = 'SelectorError';
    this.selectorCode = selectorCode;
  }
}

export const isSelectorError = (e: unknown): e is SelectorError => e instanceof SelectorError;
