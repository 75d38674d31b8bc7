// A live collection from the API: list, then watch from the list's resourceVersion, streamed
// (no polling). A closed watch resumes from the last version seen; 410 Gone relists.
export interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  [k: string]: unknown;
}

export function keyOf(o: Obj): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export function watchCollection(path: string, onChange: (items: ReadonlyMap<string, Obj>) => void): () => void {
  const items = new Map<string, Obj>();
  let stopped = false;
  let ctrl: AbortController | undefined;
  const run = async () => {
    let rv = '';
    while (!stopped) {
      try {
        if (rv === '') {
          const r = await fetch(path, { credentials: 'same-origin' });
          if (!r.ok) throw new Error(`${path}: ${r.status}`);
          const list = (await r.json()) as { items: Obj[]; metadata: { resourceVersion: string } };
          items.clear();
          for (const o of list.items) items.set(keyOf(o), o);
          rv = list.metadata.resourceVersion;
          onChange(items);
        }
        ctrl = new AbortController();
        const sep = path.includes('?') ? '&' : '?';
        const r = await fetch(`${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`, {
          credentials: 'same-origin',
          signal: ctrl.signal,
        });
        if (!r.ok || !r.body) throw new Error(`${path} watch: ${r.status}`);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            nl = buf.indexOf('\n');
            if (line === '') continue;
            const ev = JSON.parse(line) as { type: string; object: Obj & { code?: number } };
            if (ev.type === 'ERROR') throw new Error('watch expired: relist');
            rv = ev.object.metadata?.resourceVersion ?? rv;
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'DELETED') items.delete(keyOf(ev.object));
            else items.set(keyOf(ev.object), ev.object);
            onChange(items);
          }
        }
      } catch {
        if (stopped) return;
        rv = '';
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  void run();
  return () => {
    stopped = true;
    ctrl?.abort();
  };
}
