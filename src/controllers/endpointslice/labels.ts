// The EndpointSlice controller's name and the labels it reserves (keys in api/well-known.ts).
import { labelKeys } from '../../api/well-known.ts';

export const controllerName = 'endpointslice-controller.k8s.io';

/** Labels the controller owns on a slice; a Service's own copies of them are ignored. */
export function isReservedLabel(key: string): boolean {
  return key === labelKeys.serviceName || key === labelKeys.managedBy || key === labelKeys.headless;
}
