// meta.k8s.io/v1 Table responses (what kubectl asks for with Accept: …;as=Table).
import type { KubeObject } from '../../api/types.ts';
import { printerFor } from './printers.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  includeObject: IncludeObject;
  /** Omit columnDefinitions (watch events after the first, as the apiserver does). */
  noHeaders?: boolean;
  resourceVersion?: string;
  continue?: string;
  now?: number;
}

function rowObject(o: KubeObject, include: IncludeObject): unknown {
  if (include === 'Object') return o;
  if (include === 'None') return undefined;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(resource: string, objs: readonly KubeObject[], opts: TableOptions) {
  const p = printerFor(resource);
  const now = opts.now ?? Date.now();
  const metadata: Record<string, string> = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: opts.noHeaders ? null : p.columns,
    rows: objs.map((o) => {
      const object = rowObject(o, opts.includeObject);
      return object === undefined ? { cells: p.cells(o, now) } : { cells: p.cells(o, now), object };
    }),
  };
}

/** Parses the Accept header: does the client want a Table, and does it accept JSON at all? */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((s) => s.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io');
  });
}
