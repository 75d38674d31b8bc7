// apps/v1 SetDefaults_Deployment, plus pod-spec defaults for the template. apps/v1 does not
// default spec.selector from the template labels (extensions/v1beta1 did).
import type { Deployment } from '../types.ts';
import { defaultPodSpec } from './pod.ts';

export function defaultDeployment(d: Deployment): void {
  d.spec ??= { selector: {}, template: {} };
  const spec = d.spec;
  spec.replicas ??= 1;
  spec.strategy ??= {};
  spec.strategy.type ||= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
    spec.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.template ??= {};
  if (spec.template.spec) defaultPodSpec(spec.template.spec);
}
