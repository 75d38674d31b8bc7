import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConflict, isGone, isNotFound } from '../api/status.ts';
import { errorFromResponse, HttpClient } from './http.ts';

describe('HttpClient (pure parts)', () => {
  it('HttpClient builds URLs from the resource table', () => {
    const c = new HttpClient({ server: 'https://h:6443/prefix/' });
    try {
      assert.equal(c.path('services', 'ns', 'a b'), '/prefix/api/v1/namespaces/ns/services/a%20b');
      assert.equal(c.path('services', '', undefined), '/prefix/api/v1/services');
      assert.equal(c.path('nodes', 'ignored', 'n1', 'status'), '/prefix/api/v1/nodes/n1/status');
      assert.equal(
        c.path('endpointslices', 'default'),
        '/prefix/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
      );
      assert.equal(
        c.path('bgppeers', 'metallb-system', 'p'),
        '/prefix/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers/p',
      );
    } finally {
      c.close();
    }
  });

  it('keeps a Status body as is and synthesizes one for anything else', () => {
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'services "x" not found',
      reason: 'NotFound',
      code: 404,
    };
    const e = errorFromResponse(404, JSON.stringify(status));
    assert.ok(isNotFound(e));
    assert.deepEqual(e.status, status);
    // A proxy's HTML error page, or an empty body, still gets a reason from the code.
    const html = errorFromResponse(409, '<html>conflict</html>');
    assert.ok(isConflict(html));
    assert.match(html.message, /409: <html>conflict<\/html>/);
    assert.ok(isGone(errorFromResponse(410, '')));
    assert.equal(errorFromResponse(418, '').status.reason, '');
  });
});
