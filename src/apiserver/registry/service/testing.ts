// Test support for the Service registry tests: drives the strategy the way the generic registry
// does (prepare → default → begin → commit), without a store. Not imported by production code.
import assert from 'node:assert/strict';
import type { ServiceSpec } from 'kubernetes-types/core/v1.js';
import { ApiError } from '../../../api/status.ts';
import type { RequestContext, Txn } from '../types.ts';
import type { ServiceObject } from './helpers.ts';
import { createServiceStrategy, type ServiceStrategyOptions } from './strategy.ts';

export const ctx: RequestContext = { dryRun: false, namespace: 'default' };
export const dryRun: RequestContext = { dryRun: true, namespace: 'default' };

export function svcOf(name: string, spec: ServiceSpec, extra: Partial<ServiceObject> = {}): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: structuredClone(spec),
    ...extra,
  };
}

export function harness(opts: Partial<ServiceStrategyOptions> = {}) {
  const { strategy, allocators } = createServiceStrategy({
    serviceCIDRs: ['10.0.0.0/24'],
    nodePortRange: '30000-32767',
    rng: () => 0,
    ...opts,
  });
  const begin = {
    create(svc: ServiceObject, c: RequestContext = ctx): Txn {
      strategy.prepareForCreate?.(svc);
      strategy.default(svc);
      const create = strategy.beginCreate;
      assert.ok(create);
      return create(svc, c) as Txn;
    },
    update(svc: ServiceObject, old: ServiceObject, c: RequestContext = ctx): Txn {
      strategy.prepareForUpdate?.(svc, old);
      strategy.default(svc);
      const update = strategy.beginUpdate;
      assert.ok(update);
      return update(svc, old, c) as Txn;
    },
  };
  /** Create and commit; returns the object as it would be stored. */
  function create(name: string, spec: ServiceSpec, c: RequestContext = ctx): ServiceObject {
    const svc = svcOf(name, spec);
    begin.create(svc, c).commit();
    return svc;
  }
  /** Update (a copy of old changed by mutate) and commit. */
  function update(old: ServiceObject, mutate: (svc: ServiceObject) => void, c: RequestContext = ctx): ServiceObject {
    const svc = structuredClone(old);
    mutate(svc);
    begin.update(svc, old, c).commit();
    return svc;
  }
  const ip = (family: 'IPv4' | 'IPv6' = 'IPv4') => {
    const a = allocators.ip.get(family);
    assert.ok(a);
    return a;
  };
  return { strategy, allocators, begin, create, update, ip, ports: allocators.nodePorts };
}

/** Asserts fn throws an ApiError with this code, and (optionally) the first cause's field and the message. */
export function throwsApi(fn: () => unknown, code: number, message?: string | RegExp, field?: string): ApiError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ApiError, `expected ApiError, got ${String(caught)}`);
  assert.equal(caught.status.code, code, caught.message);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  if (field !== undefined) assert.equal(caught.status.details?.causes?.[0]?.field, field);
  return caught;
}
