import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frontendName, renderConfig } from './render.ts';

describe('haproxy render', () => {
  it('one frontend and backend per Service port, servers by node name, checks by traffic policy', () => {
    const text = renderConfig({
      statsSocket: '/run/x/admin.sock',
      checkIntervalMs: 500,
      frontends: [
        {
          name: frontendName('b', 'TCP', 443),
          ip: '2001:db8::5',
          port: 443,
          httpCheckPort: 31000,
          servers: [{ node: 'n2', ip: 'fd00::2', port: 30443 }],
        },
        {
          name: frontendName('a', 'TCP', 80),
          ip: '192.0.2.10',
          port: 80,
          servers: [
            { node: 'n2', ip: '10.0.0.2', port: 30080 },
            { node: 'n1', ip: '10.0.0.1', port: 30080 },
          ],
        },
        { name: frontendName('c', 'TCP', 22), ip: '192.0.2.11', port: 22, servers: [] },
      ],
    });
    assert.equal(
      text,
      [
        'global',
        '  stats socket /run/x/admin.sock mode 600 level admin expose-fd listeners',
        '  hard-stop-after 30s',
        '',
        'defaults',
        '  mode tcp',
        '  timeout connect 1s',
        '  retries 2',
        '  option redispatch 1',
        '  timeout client 60s',
        '  timeout server 60s',
        '  default-server inter 500ms fall 2 rise 2',
        '',
        'frontend a-tcp-80',
        '  bind 192.0.2.10:80',
        '  default_backend a-tcp-80',
        '',
        'backend a-tcp-80',
        '  balance roundrobin',
        '  server n1 10.0.0.1:30080 check',
        '  server n2 10.0.0.2:30080 check',
        '',
        'frontend b-tcp-443',
        '  bind [2001:db8::5]:443',
        '  default_backend b-tcp-443',
        '',
        'backend b-tcp-443',
        '  balance roundrobin',
        '  option httpchk GET /healthz',
        '  server n2 [fd00::2]:30443 check port 31000',
        '',
        'frontend c-tcp-22',
        '  bind 192.0.2.11:22',
        '  default_backend c-tcp-22',
        '',
        'backend c-tcp-22',
        '  balance roundrobin',
        '',
      ].join('\n'),
    );
  });
});
