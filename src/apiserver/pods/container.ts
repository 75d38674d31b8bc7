// Which container of a pod a log or exec request means, decided and worded as kube-apiserver's
// pod REST does (pkg/registry/core/pod/strategy.go: podHasContainerWithName, LogLocation).
import { newBadRequest } from '../../api/status.ts';
import type { Pod } from '../../api/types.ts';

export function chooseContainer(pod: Pod, asked: string | undefined, podName: string): string {
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c) => c.name);
  if (!asked) {
    if (containers.length === 1 && containers[0] !== undefined) return containers[0];
    let msg = `a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]`;
    if (init.length) msg += ` or one of the init containers: [${init.join(' ')}]`;
    if (ephemeral.length) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
    throw newBadRequest(msg);
  }
  if (![...containers, ...init, ...ephemeral].includes(asked)) {
    throw newBadRequest(`container ${asked} is not valid for pod ${podName}`);
  }
  return asked;
}

/** The node the kubelet of this pod runs on; a pod not yet scheduled has none. */
export function nodeOf(pod: Pod, podName: string): string {
  const node = pod.spec?.nodeName;
  if (!node) throw newBadRequest(`pod ${podName} does not have a host assigned`);
  return node;
}
