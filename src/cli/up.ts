// `svcnet up`: the whole cluster network on one machine, in one process tree. Today: the API
// server on the embedded store and the controllers (in-process client, so they share the
// apiserver's registry without sockets). The lab node, its agent and cluster DNS join as they land.
import { InProcessClient } from '../client/in-process.ts';
import { type ApiServerFlags, runApiServer } from './apiserver.ts';
import { startControllers } from './controller.ts';
import { untilSignal } from './util.ts';

export async function runUp(flags: ApiServerFlags): Promise<void> {
  const api = await runApiServer(flags);
  const controllers = startControllers(new InProcessClient(api.server.registry));
  await controllers.synced();
  console.log('svcnet: controllers running (endpoints, endpointslices)');
  const sig = await untilSignal();
  console.log(`svcnet: ${sig}, shutting down`);
  await controllers.stop();
  await api.close();
}
