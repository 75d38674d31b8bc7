// One Service drawn as the graph the data path follows: Service → EndpointSlices → endpoints
// (their pods) → nodes, with each endpoint's conditions and its flow count. Drawn in SVG whose
// labels are <text> elements, so every name stays DOM text a screen reader or a search finds.
import type { Obj } from './watch.ts';

export interface GraphEndpoint {
  slice: string;
  address: string;
  ports: number[];
  pod: string | undefined;
  node: string | undefined;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

const col = [10, 230, 450, 670] as const;
const boxW = 190;
const boxH = 38;
const rowH = 48;
const maxDrawn = 60;

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

export function endpointFlows(e: GraphEndpoint, counts: ReadonlyMap<string, number> | undefined): number | undefined {
  if (!counts) return undefined;
  return e.ports.reduce((a, p) => a + (counts.get(hostPort(e.address, p)) ?? 0), 0);
}

function Box(props: {
  x: number;
  y: number;
  title: string;
  line1: string;
  line2?: string;
  cls: string;
  testid?: string;
}) {
  return (
    <g class={`gnode ${props.cls}`} data-testid={props.testid}>
      <title>{props.title}</title>
      <rect x={props.x} y={props.y} width={boxW} height={boxH} rx={5} />
      <text x={props.x + 8} y={props.y + 15}>
        {props.line1}
      </text>
      {props.line2 !== undefined && (
        <text x={props.x + 8} y={props.y + 31} class="sub">
          {props.line2}
        </text>
      )}
    </g>
  );
}

const edge = (x1: number, y1: number, x2: number, y2: number) => {
  const mx = (x1 + x2) / 2;
  return `M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}`;
};

export function ServiceGraph(props: {
  svc: Obj;
  slices: Obj[];
  endpoints: GraphEndpoint[];
  counts: ReadonlyMap<string, number> | undefined;
  countLabel: string;
}) {
  const eps = props.endpoints.slice(0, maxDrawn);
  const nodes = [...new Set(eps.map((e) => e.node ?? '(no node)'))].sort();
  const rows = Math.max(1, props.slices.length, eps.length, nodes.length);
  const height = rows * rowH + 10;
  const yOf = (i: number, n: number) => 5 + (height - 10 - n * rowH) / 2 + i * rowH;
  const svcY = yOf(0, 1);
  const sliceY = new Map(props.slices.map((s, i) => [s.metadata.name, yOf(i, props.slices.length)]));
  const nodeY = new Map(nodes.map((n, i) => [n, yOf(i, nodes.length)]));
  const total = props.counts ? [...props.counts.values()].reduce((a, b) => a + b, 0) : undefined;
  const name = `${props.svc.metadata.namespace}/${props.svc.metadata.name}`;
  return (
    <figure class="graph" aria-label={`Service ${name}: EndpointSlices, endpoints and nodes`}>
      <svg
        viewBox={`0 0 ${col[3] + boxW + 10} ${height}`}
        width={col[3] + boxW + 10}
        height={height}
        data-testid="graph"
      >
        <title>{`Service ${name}: EndpointSlices, endpoints and nodes`}</title>
        {props.slices.map((s) => (
          <path
            key={`e-${s.metadata.name}`}
            class="gedge"
            d={edge(col[0] + boxW, svcY + boxH / 2, col[1], (sliceY.get(s.metadata.name) ?? 0) + boxH / 2)}
          />
        ))}
        {eps.map((e, i) => {
          const y = yOf(i, eps.length) + boxH / 2;
          return (
            <g key={`e-${e.slice}-${e.address}`}>
              <path class="gedge" d={edge(col[1] + boxW, (sliceY.get(e.slice) ?? 0) + boxH / 2, col[2], y)} />
              <path
                class="gedge"
                d={edge(col[2] + boxW, y, col[3], (nodeY.get(e.node ?? '(no node)') ?? 0) + boxH / 2)}
              />
            </g>
          );
        })}
        <Box
          x={col[0]}
          y={svcY}
          title={`Service ${name}`}
          line1={props.svc.metadata.name}
          line2={total !== undefined ? `${total} ${props.countLabel}` : 'Service'}
          cls="svc"
          testid="graph-service"
        />
        {props.slices.map((s) => (
          <Box
            key={s.metadata.name}
            x={col[1]}
            y={sliceY.get(s.metadata.name) ?? 0}
            title={`EndpointSlice ${s.metadata.name}`}
            line1={s.metadata.name}
            line2={`EndpointSlice, ${String(s.addressType ?? '')}`}
            cls="slice"
          />
        ))}
        {eps.map((e, i) => {
          const cond = [
            e.ready ? 'ready' : 'not ready',
            e.serving ? 'serving' : 'not serving',
            ...(e.terminating ? ['terminating'] : []),
          ].join(', ');
          const flows = endpointFlows(e, props.counts);
          return (
            <Box
              key={`${e.slice}-${e.address}`}
              x={col[2]}
              y={yOf(i, eps.length)}
              title={`endpoint ${e.address}${e.pod ? ` (pod ${e.pod})` : ''}: ${cond}`}
              line1={e.pod ?? e.address}
              line2={`${e.address} · ${e.ready ? 'ready' : e.terminating ? 'terminating' : 'not ready'}${flows !== undefined ? ` · ${flows}` : ''}`}
              cls={e.ready ? 'ready' : 'notready'}
              testid="graph-endpoint"
            />
          );
        })}
        {nodes.map((n) => (
          <Box key={n} x={col[3]} y={nodeY.get(n) ?? 0} title={`node ${n}`} line1={n} line2="node" cls="node" />
        ))}
      </svg>
      <figcaption class="muted">
        Service → EndpointSlices → endpoints (pods) → nodes
        {props.endpoints.length > maxDrawn
          ? `; the first ${maxDrawn} of ${props.endpoints.length} endpoints drawn`
          : ''}
        {props.counts ? `; numbers are ${props.countLabel}` : ''}
      </figcaption>
    </figure>
  );
}
