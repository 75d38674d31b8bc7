// PATCH with application/apply-patch+yaml: server-side apply through the generic registry. The
// object is created when absent (the apply patcher's forceAllowCreate), otherwise the field
// manager merges the configuration into the live object inside the registry's optimistic update,
// so a concurrent write re-runs the apply on the fresh object.
import { isNotFound, newBadRequest } from '../../api/status.ts';
import type { KubeObject } from '../../api/types.ts';
import type { UserInfo } from '../authz/rbac.ts';
import { decodeApplyPatch } from '../codec.ts';
import type { PatchOptions } from '../query.ts';
import type { GenericRegistry, Target } from '../registry/generic.ts';
import { conformToSchema } from '../schema/conform.ts';
import { fieldManagerFor } from './field-manager.ts';

export interface ApplyResult {
  code: 200 | 201;
  object: KubeObject;
}

export async function serveApply(
  registry: GenericRegistry,
  t: Target,
  name: string,
  subresource: string,
  raw: Buffer,
  opts: PatchOptions,
  user?: UserInfo,
): Promise<ApplyResult> {
  const patch = decodeApplyPatch(raw);
  // Value types checked like any body; unknown fields are the field manager's to refuse.
  conformToSchema(t.info, patch, { prune: false });
  const meta = patch.metadata;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
    throw newBadRequest('error decoding YAML: metadata must be an object');
  }
  const patchName = (meta as { name?: unknown } | undefined)?.name;
  if (patchName !== undefined && patchName !== name) {
    throw newBadRequest(`the name of the object (${String(patchName)}) does not match the name on the URL (${name})`);
  }
  const fm = fieldManagerFor(t.info, subresource);
  const write = { dryRun: opts.dryRun, subresource, isPatch: true, managedFieldsSet: true, ...(user ? { user } : {}) };
  for (let attempt = 0; ; attempt++) {
    try {
      const object = await registry.update(
        t,
        name,
        (current) => fm.apply(current, patch as never, opts.fieldManager, opts.force),
        write,
      );
      return { code: 200, object };
    } catch (e) {
      if (!isNotFound(e) || subresource || attempt > 0) throw e;
    }
    const created = fm.apply(undefined, patch as never, opts.fieldManager, opts.force);
    created.metadata = { ...created.metadata, name };
    try {
      return {
        code: 201,
        object: await registry.create(t, created, {
          dryRun: opts.dryRun,
          managedFieldsSet: true,
          ...(user ? { user } : {}),
        }),
      };
    } catch (e) {
      // Created meanwhile by someone else: apply to that object instead.
      if (!(e instanceof Error && 'reason' in e && e.reason === 'AlreadyExists')) throw e;
    }
  }
}
