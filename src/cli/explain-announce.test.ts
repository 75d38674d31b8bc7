import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { speakerMetrics } from '../announcer/speaker.ts';
import { Registry } from '../api/metrics.ts';
import { announcedIn } from './explain.ts';

describe('explain: who announces a LoadBalancer IP', () => {
  it('reads the speaker metric each agent exposes, only for that IP and only while announced', () => {
    const reg = new Registry();
    const { announced } = speakerMetrics(reg);
    announced.set(1, { ip: '198.51.100.1', node: 'n1', protocol: 'layer2', service: 'default/web' });
    announced.set(1, { ip: '198.51.100.10', node: 'n1', protocol: 'layer2', service: 'default/other' });
    announced.set(0, { ip: '198.51.100.2', node: 'n1', protocol: 'layer2', service: 'default/gone' });
    const text = reg.render();
    assert.deepEqual(announcedIn(text, '198.51.100.1'), [{ node: 'n1', protocol: 'layer2' }]);
    assert.deepEqual(announcedIn(text, '198.51.100.2'), []);
    assert.deepEqual(announcedIn(text, '203.0.113.1'), []);
  });
});
