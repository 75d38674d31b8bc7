// The svcnet dashboard: Services → EndpointSlices → pods → nodes, live from API watches, with
// each endpoint's conditions, the data planes' flow counts and DNS query rates (sampled from the
// agents), Events, and a Service page with its graph and the explain form. Every name is DOM text
// (tables, lists, SVG <text>, never a canvas) so it can be found, read and navigated by keyboard.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type CounterView, countLabel, useCounters } from './counters.ts';
import { endpointFlows, type GraphEndpoint, ServiceGraph } from './graph.tsx';
import { type Obj, watchCollection } from './watch.ts';

type Coll = ReadonlyMap<string, Obj>;

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  ports?: { name?: string; port: number; protocol?: string; nodePort?: number }[];
}
interface Endpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
  targetRef?: { kind?: string; name?: string };
}

const sliceService = (o: Obj) => o.metadata.labels?.['kubernetes.io/service-name'];
const maxRows = 200;

function useCollection(path: string): Coll {
  const [items, setItems] = useState<Coll>(new Map());
  useEffect(() => watchCollection(path, (m) => setItems(new Map(m))), [path]);
  return items;
}

function conditions(e: GraphEndpoint): string {
  return [e.ready ? 'ready' : 'not ready', e.serving ? 'serving' : 'not serving', e.terminating ? 'terminating' : '']
    .filter(Boolean)
    .join(', ');
}

/** EndpointSlices by their Service ("namespace/name"), indexed once per change, not per row. */
function slicesByService(slices: Coll): ReadonlyMap<string, Obj[]> {
  const out = new Map<string, Obj[]>();
  for (const s of slices.values()) {
    const svc = sliceService(s);
    if (!svc) continue;
    const k = `${s.metadata.namespace}/${svc}`;
    const list = out.get(k);
    if (list) list.push(s);
    else out.set(k, [s]);
  }
  for (const l of out.values()) l.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return out;
}

function endpointsOf(slices: readonly Obj[] | undefined): GraphEndpoint[] {
  const out: GraphEndpoint[] = [];
  for (const s of slices ?? []) {
    const ports = ((s.ports as { port?: number }[] | undefined) ?? []).flatMap((p) => (p.port ? [p.port] : []));
    for (const ep of (s.endpoints as Endpoint[] | undefined) ?? []) {
      const c = ep.conditions ?? {};
      out.push({
        slice: s.metadata.name,
        address: ep.addresses[0] ?? '',
        ports,
        pod: ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined,
        node: ep.nodeName,
        ready: c.ready !== false,
        serving: c.serving !== false,
        terminating: c.terminating === true,
      });
    }
  }
  return out;
}

interface ExplainResult {
  verdict: string;
  rule: string | null;
  masquerade: boolean;
  masqueradeReason: string;
  endpoints: { ip: string; port: number; eligible: boolean; reason?: string; weight?: number; node: string | null }[];
  path: { kind: string; name: string; detail?: string }[];
  pathSource: string;
  plane: string;
  consistent: { matches: boolean; detail?: string };
  message?: string;
}

function ExplainForm(props: { svc: Obj; pods: Coll }) {
  const spec = props.svc.spec as ServiceSpec;
  const ns = props.svc.metadata.namespace ?? 'default';
  const sources = [...props.pods.values()].filter((p) => (p.status as { podIP?: string } | undefined)?.podIP);
  const [from, setFrom] = useState('');
  const [port, setPort] = useState(String(spec.ports?.[0]?.name || spec.ports?.[0]?.port || ''));
  const [result, setResult] = useState<ExplainResult | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    const q = new URLSearchParams({
      from: from || (sources[0] ? `${sources[0].metadata.namespace}/${sources[0].metadata.name}` : ''),
      to: `${ns}/${props.svc.metadata.name}:${port}`,
    });
    const r = await fetch(`/ui/explain?${q}`, { credentials: 'same-origin' });
    setResult((await r.json()) as ExplainResult);
    setBusy(false);
  };
  return (
    <section aria-labelledby="explain-h">
      <h2 id="explain-h">Explain</h2>
      <form onSubmit={submit}>
        <label for="explain-from">From pod </label>
        <select id="explain-from" value={from} onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}>
          {sources.map((p) => {
            const v = `${p.metadata.namespace}/${p.metadata.name}`;
            return (
              <option key={v} value={v}>
                {v} ({(p.status as { podIP?: string }).podIP})
              </option>
            );
          })}
        </select>{' '}
        <label for="explain-port">port </label>
        <select id="explain-port" value={port} onChange={(e) => setPort((e.target as HTMLSelectElement).value)}>
          {(spec.ports ?? []).map((p) => (
            <option key={p.port} value={p.name || String(p.port)}>
              {p.name || p.port}/{p.protocol ?? 'TCP'}
            </option>
          ))}
        </select>{' '}
        <button type="submit" disabled={busy}>
          Explain
        </button>
      </form>
      {result && <ExplainView r={result} />}
    </section>
  );
}

function ExplainView({ r }: { r: ExplainResult }) {
  if (r.message)
    return (
      <p role="alert" class="error">
        {r.message}
      </p>
    );
  return (
    <div aria-live="polite" data-testid="explain-result">
      <p>
        <strong>Verdict:</strong> <span data-testid="verdict">{r.verdict}</span>
        {r.rule ? ` by ${r.rule}` : ''}. <strong>Masquerade:</strong> {r.masquerade ? 'yes' : 'no'} (
        {r.masqueradeReason})
      </p>
      {!r.consistent.matches && <p class="bad">Mismatch between the plane and the decision: {r.consistent.detail}</p>}
      <table>
        <caption class="muted">Endpoints</caption>
        <thead>
          <tr>
            <th>endpoint</th>
            <th>node</th>
            <th>eligible</th>
          </tr>
        </thead>
        <tbody>
          {r.endpoints.map((e) => (
            <tr key={`${e.ip}:${e.port}`}>
              <td>
                {e.ip}:{e.port}
              </td>
              <td>{e.node ?? ''}</td>
              <td class={e.eligible ? 'ok' : 'bad'}>
                {e.eligible ? `yes, ${Math.round((e.weight ?? 0) * 100)}%` : `no: ${e.reason}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>
        Path ({r.plane}, {r.pathSource === 'kernel' ? 'read back from the kernel' : 'live plane state'})
      </h3>
      <ol class="path" data-testid="path">
        {r.path.map((s, i) => (
          <li key={i}>
            {s.kind} {s.name}
            {s.detail ? ` (${s.detail})` : ''}
          </li>
        ))}
      </ol>
    </div>
  );
}

function ServicePage(props: {
  svc: Obj;
  slices: readonly Obj[];
  pods: Coll;
  events: Coll;
  counters: CounterView | undefined;
}) {
  const { svc } = props;
  const ns = svc.metadata.namespace ?? 'default';
  const spec = svc.spec as ServiceSpec;
  const eps = endpointsOf(props.slices);
  const counts =
    props.counters?.byEndpoint.get(`${ns}/${svc.metadata.name}`) ?? (props.counters ? new Map() : undefined);
  const label = countLabel(props.counters?.kinds ?? new Set());
  const events = [...props.events.values()].filter((e) => {
    const io = e.involvedObject as { kind?: string; name?: string; namespace?: string } | undefined;
    return io?.kind === 'Service' && io.name === svc.metadata.name && io.namespace === ns;
  });
  return (
    <article aria-labelledby="svc-h">
      <h2 id="svc-h">
        Service {ns}/{svc.metadata.name}
      </h2>
      <p class="muted">
        {spec.type ?? 'ClusterIP'} {spec.clusterIP}{' '}
        {(spec.ports ?? [])
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
          .join(', ')}
      </p>
      <ServiceGraph svc={svc} slices={[...props.slices]} endpoints={eps} counts={counts} countLabel={label} />
      <section aria-labelledby="eps-h">
        <h2 id="eps-h">Endpoints ({eps.length})</h2>
        <table data-testid="endpoints">
          <thead>
            <tr>
              <th>address</th>
              <th>pod</th>
              <th>node</th>
              <th>conditions</th>
              <th>{label}</th>
            </tr>
          </thead>
          <tbody>
            {eps.map((ep) => (
              <tr key={`${ep.slice} ${ep.address}`}>
                <td>
                  {ep.address}
                  {ep.ports.length ? `:${ep.ports.join(',')}` : ''}
                </td>
                <td>{ep.pod ?? ''}</td>
                <td>{ep.node ?? ''}</td>
                <td class={ep.ready ? 'ok' : 'bad'}>{conditions(ep)}</td>
                <td data-testid="endpoint-flows">{endpointFlows(ep, counts) ?? '…'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <ExplainForm svc={svc} pods={props.pods} />
      <section aria-labelledby="ev-h">
        <h2 id="ev-h">Events</h2>
        <ul>
          {events.map((e) => (
            <li key={e.metadata.name}>
              {String(e.type ?? '')} {String(e.reason ?? '')}: {String(e.message ?? '')}
            </li>
          ))}
          {events.length === 0 && <li class="muted">none</li>}
        </ul>
      </section>
    </article>
  );
}

function App() {
  const services = useCollection('/api/v1/services');
  const slices = useCollection('/apis/discovery.k8s.io/v1/endpointslices');
  const pods = useCollection('/api/v1/pods');
  const nodes = useCollection('/api/v1/nodes');
  const events = useCollection('/api/v1/events');
  const counters = useCounters();
  const bySvc = useMemo(() => slicesByService(slices), [slices]);
  const label = countLabel(counters?.kinds ?? new Set());
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<string | undefined>();
  const list = useMemo(
    () =>
      [...services.values()]
        .filter((s) => `${s.metadata.namespace}/${s.metadata.name}`.includes(filter))
        .sort((a, b) =>
          `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
        ),
    [services, filter],
  );
  const svc = selected ? services.get(selected) : undefined;
  return (
    <>
      <header>
        <h1>svcnet</h1>
        <span class="muted">
          {services.size} Services, {pods.size} pods, {nodes.size} nodes (live)
        </span>
        <span data-testid="dns-rate">
          DNS: {counters?.dnsRate === undefined ? '…' : `${counters.dnsRate.toFixed(1)} queries/s`}
        </span>
        {counters && counters.errors.length > 0 && (
          <span class="bad" role="status">
            {counters.errors.join('; ')}
          </span>
        )}
      </header>
      <main>
        <nav aria-label="Services">
          <label for="filter">Filter Services </label>
          <input
            id="filter"
            type="search"
            value={filter}
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          />
          <table data-testid="services">
            <thead>
              <tr>
                <th>Service</th>
                <th>type</th>
                <th>endpoints</th>
                <th>{label}</th>
              </tr>
            </thead>
            <tbody>
              {list.slice(0, maxRows).map((s) => {
                const k = `${s.metadata.namespace}/${s.metadata.name}`;
                const eps = endpointsOf(bySvc.get(k));
                const ready = eps.filter((e) => e.ready).length;
                return (
                  <tr key={k}>
                    <td>
                      <button type="button" class="link" aria-current={selected === k} onClick={() => setSelected(k)}>
                        {k}
                      </button>
                    </td>
                    <td>{(s.spec as ServiceSpec).type ?? 'ClusterIP'}</td>
                    <td>
                      {ready}/{eps.length}
                    </td>
                    <td>{counters ? (counters.byService.get(k) ?? 0) : '…'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {list.length > maxRows && <p class="muted">{list.length - maxRows} more: narrow the filter</p>}
          <h2>Nodes</h2>
          <ul data-testid="nodes">
            {[...nodes.values()].map((n) => (
              <li key={n.metadata.name}>
                {n.metadata.name}
                <ul>
                  {[...pods.values()]
                    .filter((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === n.metadata.name)
                    .map((p) => (
                      <li key={`${p.metadata.namespace}/${p.metadata.name}`}>
                        {p.metadata.namespace}/{p.metadata.name}{' '}
                        {(p.status as { podIP?: string } | undefined)?.podIP ?? ''}
                      </li>
                    ))}
                </ul>
              </li>
            ))}
          </ul>
        </nav>
        <div>
          {svc ? (
            <ServicePage
              svc={svc}
              slices={bySvc.get(selected ?? '') ?? []}
              pods={pods}
              events={events}
              counters={counters}
            />
          ) : (
            <p class="muted">Choose a Service.</p>
          )}
        </div>
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
