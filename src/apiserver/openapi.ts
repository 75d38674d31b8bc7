// The OpenAPI v3 surface: /openapi/v3 lists one document per group-version with its hash, and
// each document carries the paths (operations tagged with x-kubernetes-group-version-kind) and
// the component schemas of its kinds (openapi/schemas.ts). kubectl explain renders the schemas;
// kubectl (cli-runtime query_param_verifier_v3.go) also decides from a PATCH operation listing
// `fieldValidation` that the server validates fields, and then sends fieldValidation=Strict.
import { createHash } from 'node:crypto';
import { apiVersionOf, type ResourceInfo, resources } from '../api/resources.ts';
import { componentsFor } from './openapi/schemas.ts';

const queryParams = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

function gvPath(groupVersion: string): string {
  return groupVersion.includes('/') ? `apis/${groupVersion}` : `api/${groupVersion}`;
}

function itemPath(r: ResourceInfo): string {
  const base = `/${gvPath(apiVersionOf(r))}`;
  return r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}/{name}` : `${base}/${r.resource}/{name}`;
}

function gvDoc(groupVersion: string) {
  const paths: Record<string, unknown> = {};
  const served = resources.filter((x) => apiVersionOf(x) === groupVersion);
  for (const r of served) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const op = (action: string) => ({
      operationId: `${action}${r.kind}`,
      parameters: queryParams,
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    });
    paths[itemPath(r)] = { get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-svcnet' },
    paths,
    components: { schemas: componentsFor(served) },
  };
}

interface Doc {
  body: string;
  hash: string;
}

/** Serialized documents, built once: they depend only on the static resource table. */
export class OpenApiV3 {
  private readonly docs = new Map<string, Doc>();
  readonly index: string;

  constructor() {
    const gvs = [...new Set(resources.map(apiVersionOf))];
    const index: Record<string, { serverRelativeURL: string }> = {};
    for (const gv of gvs) {
      const body = JSON.stringify(gvDoc(gv));
      const hash = createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase();
      this.docs.set(gvPath(gv), { body, hash });
      index[gvPath(gv)] = { serverRelativeURL: `/openapi/v3/${gvPath(gv)}?hash=${hash}` };
    }
    this.index = JSON.stringify({ paths: index });
  }

  /** `path` is what follows /openapi/v3/, e.g. "api/v1" or "apis/apps/v1". */
  doc(path: string): Doc | undefined {
    return this.docs.get(path);
  }
}
