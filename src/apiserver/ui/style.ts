// The dashboard's stylesheet: system fonts, contrast above WCAG AA, visible focus.
export const css = `
:root { color-scheme: light; --fg: #1a1a1a; --muted: #4a4a4a; --bg: #fff; --line: #c8c8c8; --accent: #0b57d0; --bad: #a50e0e; --ok: #146c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; align-items: baseline; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.2rem; margin: 0; }
main { display: grid; grid-template-columns: minmax(18rem, 28rem) 1fr; gap: 1rem; padding: 1rem; }
.login { display: block; max-width: 28rem; margin: 4rem auto; }
.login form { display: grid; gap: .5rem; }
input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--muted); border-radius: 4px; background: #fff; color: var(--fg); }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.link { background: none; color: var(--accent); border: none; padding: 0; text-align: left; text-decoration: underline; }
:focus-visible { outline: 3px solid #e37400; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.muted { color: var(--muted); }
.bad { color: var(--bad); } .ok { color: var(--ok); }
.error { color: var(--bad); }
ol.path li { font-family: ui-monospace, monospace; font-size: .9rem; }
section { margin-bottom: 1.2rem; }
h2 { font-size: 1.05rem; margin: .4rem 0; }
figure.graph { margin: 0 0 1rem; overflow-x: auto; }
.gnode rect { fill: #f4f7fc; stroke: var(--accent); stroke-width: 1.2; }
.gnode text { font-size: 12px; fill: var(--fg); }
.gnode text.sub { fill: var(--muted); font-size: 11px; }
.gnode.svc rect { fill: #e3ecfb; }
.gnode.ready rect { stroke: var(--ok); }
.gnode.notready rect { stroke: var(--bad); stroke-dasharray: 4 3; fill: #fbeaea; }
.gnode.node rect { fill: #f1f1f1; stroke: var(--muted); }
.gedge { fill: none; stroke: #8a8a8a; stroke-width: 1.2; }
`;
