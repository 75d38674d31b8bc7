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
`;
