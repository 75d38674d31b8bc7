// Both endpoint controllers over one Service and one Pod watch, as kube-controller-manager runs
// them from shared informers (`svcnet controller` and `svcnet up` use this).
import type { Pod, Service } from '../../api/types.ts';
import type { Client } from '../../client/client.ts';
import { Informer } from '../../client/informer.ts';
import {
  type ControllerHandle,
  type EndpointSliceControllerOptions,
  startEndpointSliceController,
} from '../endpointslice/controller.ts';
import type { Obj } from '../runtime/informers.ts';
import { type EndpointsControllerOptions, startEndpointsController } from './controller.ts';

export interface EndpointControllersOptions {
  slices?: Omit<EndpointSliceControllerOptions, 'informers'>;
  endpoints?: Omit<EndpointsControllerOptions, 'informers'> | false;
}

export function startEndpointControllers(client: Client, opts: EndpointControllersOptions = {}): ControllerHandle {
  const services = new Informer<Obj<Service>>(client, 'services');
  const pods = new Informer<Obj<Pod>>(client, 'pods');
  const handles = [startEndpointSliceController(client, { ...opts.slices, informers: { services, pods } })];
  if (opts.endpoints !== false) {
    handles.push(startEndpointsController(client, { ...opts.endpoints, informers: { services, pods } }));
  }
  services.start();
  pods.start();
  return {
    async stop() {
      await Promise.all(handles.map((h) => h.stop()));
      services.stop();
      pods.stop();
    },
    synced: async () => {
      await Promise.all(handles.map((h) => h.synced()));
    },
    idle: async () => {
      await Promise.all(handles.map((h) => h.idle()));
    },
  };
}
