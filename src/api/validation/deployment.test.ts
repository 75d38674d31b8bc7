import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultDeployment } from '../defaults/deployment.ts';
import { errorBody, type FieldError } from '../field.ts';
import type { Deployment } from '../types.ts';
import { validateDeployment, validateDeploymentUpdate } from './deployment.ts';

const causes = (errs: FieldError[]): [string, string, string][] => errs.map((e) => [e.type, e.field, errorBody(e)]);

function deploy(patch: (d: Deployment) => void = () => {}): Deployment {
  const d: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', resourceVersion: '1' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1' }] } },
    },
  };
  patch(d);
  defaultDeployment(d);
  return d;
}

describe('Deployment', () => {
  it('defaults replicas, strategy, history and deadline, and the template pod spec', () => {
    const d = deploy();
    assert.equal(d.spec?.replicas, 1);
    assert.deepEqual(d.spec?.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
    });
    assert.equal(d.spec?.revisionHistoryLimit, 10);
    assert.equal(d.spec?.progressDeadlineSeconds, 600);
    assert.equal(d.spec?.template.spec?.restartPolicy, 'Always');
    assert.equal(d.spec?.template.spec?.containers[0]?.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(validateDeployment(d), []);
  });

  it('the selector must match the template labels', () => {
    const d = deploy((x) => {
      if (x.spec) x.spec.selector = { matchLabels: { app: 'other' } };
    });
    assert.deepEqual(causes(validateDeployment(d)), [
      [
        'FieldValueInvalid',
        'spec.template.metadata.labels',
        'Invalid value: {"app":"web"}: `selector` does not match template `labels`',
      ],
    ]);
  });

  it('the selector is required and may not be empty', () => {
    const missing = deploy((x) => {
      if (x.spec) delete (x.spec as { selector?: unknown }).selector;
    });
    assert.deepEqual(causes(validateDeployment(missing)), [
      ['FieldValueRequired', 'spec.selector', 'Required value'],
      [
        'FieldValueInvalid',
        'spec.template.metadata.labels',
        'Invalid value: {"app":"web"}: `selector` does not match template `labels`',
      ],
    ]);
    const empty = deploy((x) => {
      if (x.spec) x.spec.selector = {};
    });
    assert.deepEqual(causes(validateDeployment(empty)), [
      ['FieldValueInvalid', 'spec.selector', 'Invalid value: {}: empty selector is invalid for deployment'],
    ]);
  });

  it('replicas and the rolling update must be sane', () => {
    const d = deploy((x) => {
      if (!x.spec) return;
      x.spec.replicas = -1;
      x.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '0%' } };
    });
    assert.deepEqual(causes(validateDeployment(d)), [
      ['FieldValueInvalid', 'spec.replicas', 'Invalid value: -1: must be greater than or equal to 0'],
      [
        'FieldValueInvalid',
        'spec.strategy.rollingUpdate.maxUnavailable',
        'Invalid value: 0: may not be 0 when `maxSurge` is 0',
      ],
    ]);
    const bad = deploy((x) => {
      if (x.spec) x.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '120%', maxSurge: 'x' } };
    });
    assert.deepEqual(causes(validateDeployment(bad)), [
      [
        'FieldValueInvalid',
        'spec.strategy.rollingUpdate.maxSurge',
        `Invalid value: "x": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
      ],
      [
        'FieldValueInvalid',
        'spec.strategy.rollingUpdate.maxUnavailable',
        'Invalid value: "120%": must not be greater than 100%',
      ],
    ]);
  });

  it('template pods must restart Always', () => {
    const d = deploy((x) => {
      if (x.spec?.template.spec) x.spec.template.spec.restartPolicy = 'Never';
    });
    assert.deepEqual(causes(validateDeployment(d)), [
      [
        'FieldValueNotSupported',
        'spec.template.spec.restartPolicy',
        'Unsupported value: "Never": supported values: "Always"',
      ],
    ]);
  });

  it('the selector is immutable', () => {
    const old = deploy();
    const d = deploy((x) => {
      if (!x.spec) return;
      x.spec.selector = { matchLabels: { app: 'web', tier: 'fe' } };
      if (x.spec.template.metadata) x.spec.template.metadata.labels = { app: 'web', tier: 'fe' };
    });
    assert.deepEqual(causes(validateDeploymentUpdate(d, old)), [
      [
        'FieldValueInvalid',
        'spec.selector',
        'Invalid value: {"matchLabels":{"app":"web","tier":"fe"}}: field is immutable',
      ],
    ]);
  });
});
