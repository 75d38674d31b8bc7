// Endpoint slot values: the store keeps endpoint keys, transactions carry `addr . port`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ep, snapshotOf, svcPort } from '../testing/fixtures.ts';
import type { EndpointInfo } from '../types.ts';
import { endpointTarget, slotText, slotValue } from './contribution.ts';
import { FakeNft } from './fake.ts';
import { NftablesRenderer } from './render.ts';

describe('nftables endpoint slot values', () => {
  it('render as the endpoint target for IPv4, IPv6, non-canonical and hand-built endpoints', () => {
    const odd: EndpointInfo = { ...ep('10.244.0.9', 80), key: 'not-a-key' as EndpointInfo['key'] };
    for (const e of [ep('10.244.0.7', 8080), ep('fd44::7', 53), ep('FD44:0:0::7', 8080), odd]) {
      assert.equal(slotText(slotValue(e)), endpointTarget(e), e.ip);
    }
    // A canonical endpoint's value is its own key: nothing new kept per element.
    assert.equal(slotValue(ep('fd44::7', 53)), '[fd44::7]:53');
    assert.equal(slotText('[fd44::7]:53'), 'fd44::7 . 53');
  });

  it('spellings of one address compare equal; a partial sync writes targets, never keys', () => {
    const svc = svcPort('default', 'web', { clusterIPs: ['10.96.0.1', 'fd96::1'] });
    const r = new NftablesRenderer({ families: ['ip', 'ip6'], serviceCIDRs: ['10.96.0.0/16'], masqueradeAll: false });
    const nft = new FakeNft();
    r.update(snapshotOf([[svc, [ep('10.244.0.7', 8080), ep('fd44:0::7', 8080)]]]));
    for (const tx of r.renderFull({})) nft.apply(tx);
    // The same endpoints, the IPv6 one written canonically now: no change to apply.
    r.update(snapshotOf([[svc, [ep('10.244.0.7', 8080), ep('fd44::7', 8080)]]]), [svc.key]);
    assert.equal(r.renderPartial(), '');
    r.update(snapshotOf([[svc, [ep('10.244.0.8', 8080), ep('fd44::8', 8080)]]]), [svc.key]);
    const tx = r.renderPartial();
    assert.match(tx, /add element ip svcnet cluster-slot-0 \{ 10\.96\.0\.1 \. tcp \. 80 : 10\.244\.0\.8 \. 8080 \}/);
    assert.match(tx, /add element ip6 svcnet cluster-slot-0 \{ fd96::1 \. tcp \. 80 : fd44::8 \. 8080 \}/);
    assert.doesNotMatch(tx, /:8080/);
    nft.apply(tx);
    const full = r.renderFull({}).join('');
    assert.match(full, /add element ip6 svcnet cluster-slot-0 \{ fd96::1 \. tcp \. 80 : fd44::8 \. 8080 \}/);
    assert.doesNotMatch(full, /:8080/);
  });
});
