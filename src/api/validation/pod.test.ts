import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPod, imageTag } from '../defaults/pod.ts';
import { errorBody, type FieldError } from '../field.ts';
import type { Pod } from '../types.ts';
import { validatePod, validatePodUpdate } from './pod.ts';

const causes = (errs: FieldError[]): [string, string, string][] => errs.map((e) => [e.type, e.field, errorBody(e)]);

function pod(spec: Partial<Pod['spec']> & object): Pod {
  const p: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default', resourceVersion: '1' },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
  };
  defaultPod(p);
  return p;
}

describe('Pod defaults', () => {
  it('fills the usual fields', () => {
    const p = pod({ containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80 }] }] });
    assert.equal(p.spec?.restartPolicy, 'Always');
    assert.equal(p.spec?.dnsPolicy, 'ClusterFirst');
    assert.equal(p.spec?.terminationGracePeriodSeconds, 30);
    assert.equal(p.spec?.schedulerName, 'default-scheduler');
    assert.equal(p.spec?.enableServiceLinks, true);
    const c = p.spec?.containers[0];
    assert.equal(c?.imagePullPolicy, 'Always');
    assert.equal(c?.ports?.[0]?.protocol, 'TCP');
    assert.equal(c?.terminationMessagePolicy, 'File');
  });
  it('imagePullPolicy follows the tag', () => {
    assert.equal(imageTag('nginx'), 'latest');
    assert.equal(imageTag('nginx:latest'), 'latest');
    assert.equal(imageTag('registry:5000/app:v1'), 'v1');
    assert.equal(imageTag('registry:5000/app'), 'latest');
    assert.equal(imageTag('app@sha256:abc'), '');
    assert.equal(pod({}).spec?.containers[0]?.imagePullPolicy, 'IfNotPresent');
  });
  it('host network pods get hostPort = containerPort', () => {
    const p = pod({ hostNetwork: true, containers: [{ name: 'a', image: 'x:1', ports: [{ containerPort: 8080 }] }] });
    assert.equal(p.spec?.containers[0]?.ports?.[0]?.hostPort, 8080);
    assert.deepEqual(validatePod(p), []);
  });
});

describe('Pod validation', () => {
  it('accepts a defaulted pod', () => assert.deepEqual(validatePod(pod({})), []));

  it('requires containers', () => {
    assert.deepEqual(causes(validatePod(pod({ containers: [] }))), [
      ['FieldValueRequired', 'spec.containers', 'Required value'],
    ]);
  });

  it('checks container names, images and ports', () => {
    const p = pod({
      containers: [
        {
          name: 'app',
          image: 'x:1',
          ports: [
            { name: 'http', containerPort: 80 },
            { name: 'http', containerPort: 81 },
          ],
        },
        { name: 'app', image: '' },
        { name: '', image: 'y:1', ports: [{ containerPort: 0 }, { containerPort: 70000, protocol: 'ICMP' }] },
      ],
    });
    assert.deepEqual(causes(validatePod(p)), [
      ['FieldValueDuplicate', 'spec.containers[0].ports[1].name', 'Duplicate value: "http"'],
      ['FieldValueDuplicate', 'spec.containers[1].name', 'Duplicate value: "app"'],
      ['FieldValueRequired', 'spec.containers[1].image', 'Required value'],
      ['FieldValueRequired', 'spec.containers[2].name', 'Required value'],
      ['FieldValueRequired', 'spec.containers[2].ports[0].containerPort', 'Required value'],
      [
        'FieldValueInvalid',
        'spec.containers[2].ports[1].containerPort',
        'Invalid value: 70000: must be between 1 and 65535, inclusive',
      ],
      [
        'FieldValueNotSupported',
        'spec.containers[2].ports[1].protocol',
        'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      ],
    ]);
  });

  it('checks policies', () => {
    const p = pod({});
    if (p.spec) {
      p.spec.restartPolicy = 'Sometimes';
      p.spec.dnsPolicy = 'None';
    }
    assert.deepEqual(causes(validatePod(p)), [
      [
        'FieldValueNotSupported',
        'spec.restartPolicy',
        'Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"',
      ],
      ['FieldValueRequired', 'spec.dnsConfig', 'Required value: must provide `dnsConfig` when `dnsPolicy` is None'],
    ]);
  });

  it('checks user and group ids of the pod and container security contexts', () => {
    const p = pod({
      securityContext: { runAsUser: -1, runAsGroup: 2147483648, fsGroup: 7, supplementalGroups: [1, -5] },
      containers: [{ name: 'app', image: 'nginx:1.27', securityContext: { runAsUser: 1.5, runAsGroup: 0 } }],
    });
    const range = 'must be between 0 and 2147483647, inclusive';
    assert.deepEqual(causes(validatePod(p)), [
      ['FieldValueInvalid', 'spec.containers[0].securityContext.runAsUser', `Invalid value: 1.5: ${range}`],
      ['FieldValueInvalid', 'spec.securityContext.runAsUser', `Invalid value: -1: ${range}`],
      ['FieldValueInvalid', 'spec.securityContext.runAsGroup', `Invalid value: 2147483648: ${range}`],
      ['FieldValueInvalid', 'spec.securityContext.supplementalGroups[1]', `Invalid value: -5: ${range}`],
    ]);
  });

  it('host network ports must match', () => {
    const p = pod({ containers: [{ name: 'a', image: 'x:1', ports: [{ containerPort: 80, hostPort: 8080 }] }] });
    if (p.spec) p.spec.hostNetwork = true;
    assert.deepEqual(causes(validatePod(p)), [
      [
        'FieldValueInvalid',
        'spec.containers[0].ports[0].hostPort',
        'Invalid value: 8080: must match `containerPort` when `hostNetwork` is true',
      ],
    ]);
  });

  it('names are DNS subdomains', () => {
    const p = pod({});
    p.metadata = { name: 'Web_1', namespace: 'default' };
    assert.deepEqual(
      validatePod(p).map((e) => e.field),
      ['metadata.name'],
    );
  });

  it('updates may change images but not the rest of the spec', () => {
    const old = pod({ nodeName: 'node-1' });
    const newImage = structuredClone(old);
    if (newImage.spec?.containers[0]) newImage.spec.containers[0].image = 'nginx:1.28';
    assert.deepEqual(validatePodUpdate(newImage, old), []);
    const moved = structuredClone(old);
    if (moved.spec) moved.spec.nodeName = 'node-2';
    assert.deepEqual(
      causes(validatePodUpdate(moved, old)).map(([t, f]) => [t, f]),
      [['FieldValueForbidden', 'spec']],
    );
    assert.match(
      errorBody(validatePodUpdate(moved, old)[0] as FieldError),
      /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/,
    );
  });

  it('an update may bind an unbound pod to a node once (pods/binding)', () => {
    const unbound = pod({});
    const bound = structuredClone(unbound);
    if (bound.spec) bound.spec.nodeName = 'node-1';
    assert.deepEqual(validatePodUpdate(bound, unbound), []);
    const unbind = structuredClone(bound);
    if (unbind.spec) delete unbind.spec.nodeName;
    assert.deepEqual(
      causes(validatePodUpdate(unbind, bound)).map(([t, f]) => [t, f]),
      [['FieldValueForbidden', 'spec']],
    );
    const invalidName = structuredClone(unbound);
    if (invalidName.spec) invalidName.spec.nodeName = 'Node_1';
    assert.deepEqual(
      validatePodUpdate(invalidName, unbound).map((e) => e.field),
      ['spec.nodeName'],
    );
  });
});
