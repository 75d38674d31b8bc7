import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderKeepalived } from './render.ts';

describe('keepalived render', () => {
  it('one VRRPv3 instance floats the gateway and every external IP as host addresses', () => {
    const text = renderKeepalived({
      routerId: 51,
      priority: 150,
      dev: 'eth0',
      gateway: '169.254.3.5/24',
      vips: ['198.18.0.2', '198.18.0.1', '2001:db8::1'],
      advertMs: 200,
    });
    assert.equal(
      text,
      [
        'global_defs {',
        '  vrrp_version 3',
        '  vrrp_garp_master_delay 1',
        '  vrrp_garp_master_repeat 2',
        '}',
        '',
        'vrrp_instance edge {',
        '  state BACKUP',
        '  interface eth0',
        '  virtual_router_id 51',
        '  priority 150',
        '  advert_int 0.20',
        '  nopreempt',
        '  virtual_ipaddress {',
        '    169.254.3.5/24 dev eth0',
        '    198.18.0.1/32 dev eth0',
        '    198.18.0.2/32 dev eth0',
        '    2001:db8::1/128 dev eth0',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
});
