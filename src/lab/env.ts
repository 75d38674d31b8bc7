// Container environment the way the kubelet builds it (kubelet_pods.go makeEnvironmentVariables
// and third_party/forked/golang/expansion): env entries in order, each value expanded against
// the entries before it; valueFrom.fieldRef from the downward API; then command and args
// expanded against the whole environment. `$(VAR)` with VAR unknown stays as written, `$$` is
// a literal `$` (so `$$(VAR)` is the text `$(VAR)`), anything else after `$` is kept.
import type { Container, EnvVar } from 'kubernetes-types/core/v1.js';
import type { Pod } from '../api/types.ts';

export type EnvErrorCode = 'ENV_UNSUPPORTED_FIELD' | 'ENV_UNSUPPORTED_SOURCE';

export class EnvError extends Error {
  readonly code: EnvErrorCode;
  constructor(code: EnvErrorCode, message: string) {
    super(message);
    this.name = 'EnvError';
    this.code = code;
  }
}

/** expansion.Expand: mapping returns undefined for unknown names, which stay as `$(NAME)`. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let advance = 1;
    if (rest[0] === '$') {
      out += '$';
    } else if (rest[0] === '(') {
      const close = rest.indexOf(')', 1);
      if (close >= 0) {
        const name = rest.slice(1, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close + 1;
      } else {
        out += '$(';
      }
    } else {
      out += `$${rest[0]}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** The downward API fields a fieldRef may name (ValidateEnv's validFieldPathExpressionsEnv). */
export function podFieldValue(pod: Pod, fieldPath: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m?.[1] && m[2] !== undefined) {
    const map = m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[m[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(',');
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((i) => i.ip).join(',');
    default:
      throw new EnvError('ENV_UNSUPPORTED_FIELD', `unsupported fieldRef "${fieldPath}"`);
  }
}

function envValue(pod: Pod, v: EnvVar, lookup: (name: string) => string | undefined): string {
  if (v.valueFrom === undefined) return expand(v.value ?? '', lookup);
  const ref = v.valueFrom.fieldRef;
  if (ref) return podFieldValue(pod, ref.fieldPath);
  // configMapKeyRef, secretKeyRef, resourceFieldRef need objects the lab does not serve.
  throw new EnvError('ENV_UNSUPPORTED_SOURCE', `env ${v.name}: only value and valueFrom.fieldRef are supported`);
}

export interface ContainerInvocation {
  argv: string[];
  /** The container's own variables (not the inherited base environment). */
  env: Record<string, string>;
}

/**
 * The process a container runs: command (the image entrypoint) then args, expanded.
 * `pod` must already carry status.podIP/hostIP for those fieldRefs to resolve.
 * `base` is visible to $(VAR) lookups only after the container's own variables, as upstream
 * lets container env shadow the service-link variables.
 */
export function containerInvocation(pod: Pod, c: Container, base: Record<string, string> = {}): ContainerInvocation {
  const env: Record<string, string> = {};
  const lookup = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : base[name]);
  for (const v of c.env ?? []) env[v.name] = envValue(pod, v, lookup);
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map((s) => expand(s, lookup));
  return { argv, env };
}
