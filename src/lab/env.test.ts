import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../api/types.ts';
import { containerInvocation, EnvError, expand } from './env.ts';

const vars: Record<string, string> = { VAR_A: 'A', VAR_B: 'B', VAR_EMPTY: '' };
const lookup = (n: string) => vars[n];

describe('expand ($(VAR), as kubelet third_party/forked/golang/expansion)', () => {
  // Cases from upstream's expand_test.go.
  const cases: [string, string][] = [
    ['$(VAR_A)', 'A'],
    ['___$(VAR_B)___', '___B___'],
    ['$(VAR_A)-$(VAR_B)', 'A-B'],
    ['$(VAR_EMPTY)', ''],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$$(VAR_A)', '$(VAR_A)'],
    ['$$$(VAR_A)', '$A'],
    ['$$$$(VAR_A)', '$$(VAR_A)'],
    ['$$', '$'],
    ['$', '$'],
    ['f00__(VAR_A)__', 'f00__(VAR_A)__'],
    ['$(VAR_A', '$(VAR_A'],
    ['$VAR_A', '$VAR_A'],
    ['$(VAR_A)$', 'A$'],
    ['$()', '$()'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell-style braces are not expanded
    ['${VAR_A}', '${VAR_A}'],
  ];
  for (const [input, want] of cases) it(JSON.stringify(input), () => assert.equal(expand(input, lookup), want));
});

describe('containerInvocation', () => {
  const pod: Pod = {
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', labels: { app: 'web' } },
    spec: { nodeName: 'lab-node', containers: [] },
    status: { podIP: '10.244.0.7', podIPs: [{ ip: '10.244.0.7' }], hostIP: '169.254.1.2' },
  };

  it('builds env in order (later entries see earlier ones) and expands command and args', () => {
    const inv = containerInvocation(pod, {
      name: 'c',
      command: ['/bin/server', '--name=$(POD_NAME)'],
      args: ['--addr=$(ADDR)', '--zone=$(UNSET)', '$$(POD_NAME)'],
      env: [
        { name: 'ADDR', value: '$(POD_IP):$(PORT)' }, // PORT comes later: stays literal
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'PORT', value: '8080' },
        { name: 'ADDR2', value: '$(POD_IP):$(PORT)' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      ],
    });
    assert.deepEqual(inv.env, {
      ADDR: '$(POD_IP):$(PORT)',
      POD_IP: '10.244.0.7',
      PORT: '8080',
      ADDR2: '10.244.0.7:8080',
      POD_NAME: 'web-1',
      NS: 'shop',
      NODE: 'lab-node',
      APP: 'web',
    });
    assert.deepEqual(inv.argv, [
      '/bin/server',
      '--name=web-1',
      '--addr=$(POD_IP):$(PORT)',
      '--zone=$(UNSET)',
      '$(POD_NAME)',
    ]);
  });

  it('refuses sources the lab cannot serve, with a code', () => {
    assert.throws(
      () =>
        containerInvocation(pod, {
          name: 'c',
          env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
        }),
      (e: unknown) => e instanceof EnvError && e.code === 'ENV_UNSUPPORTED_SOURCE',
    );
    assert.throws(
      () =>
        containerInvocation(pod, {
          name: 'c',
          env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }],
        }),
      (e: unknown) => e instanceof EnvError && e.code === 'ENV_UNSUPPORTED_FIELD',
    );
  });
});
