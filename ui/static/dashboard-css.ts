/**
 * The pages' stylesheet, served as /static/dashboard.css. A string module so that it
 * ships inside the compiled package (the build copies only TypeScript). Light and
 * dark follow the system; below 900 px panels stack, below 640 px the functions table
 * turns into one card per function, so nothing scrolls sideways on a phone.
 */
export const DASHBOARD_CSS = `
:root {
  --bg: #f5f6f8; --panel: #ffffff; --text: #1b1f24; --muted: #5d6670; --line: #dde1e6;
  --accent: #c8312b; --accent-soft: #fbe9e8; --ok: #1f883d; --mid: #bf8700; --high: #cf222e;
  --info: #0969da; --idle: #6e7781; --chart-line: #c8312b; --chart-area: rgba(200, 49, 43, .12);
  --track: #eaeef2; --code-bg: #f6f8fa; --selected: #ddf4ff; --selected-edge: #0969da;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --panel: #171b21; --text: #e6edf3; --muted: #9aa5b1; --line: #2b323b;
    --accent: #ff6b61; --accent-soft: #3a1d1c; --ok: #3fb950; --mid: #d29922; --high: #f85149;
    --info: #58a6ff; --idle: #8b949e; --chart-line: #ff6b61; --chart-area: rgba(255, 107, 97, .15);
    --track: #262c34; --code-bg: #0d1117; --selected: #12283f; --selected-edge: #58a6ff;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--info); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
[hidden] { display: none !important; }
.top { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; justify-content: space-between;
  padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line); }
.brand { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; min-width: 0; }
.logo { font-weight: 700; font-size: 18px; color: var(--accent); text-decoration: none; }
.subtitle { color: var(--muted); }
.top-right { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 20px 8px; display: grid; gap: 16px;
  grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
  grid-template-areas: "metrics metrics" "functions functions" "detail register"; }
#metrics { grid-area: metrics; } #functions { grid-area: functions; }
#detail { grid-area: detail; } #register { grid-area: register; }
.foot { max-width: 1280px; margin: 0 auto; padding: 8px 20px 24px; color: var(--muted); font-size: 12px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.panel > h2, .panel-head h2 { font-size: 15px; margin: 0; }
.panel-head { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: baseline; justify-content: space-between; margin-bottom: 10px; }
.panel-head .meta { color: var(--muted); font-size: 12.5px; }
h3 { font-size: 13px; margin: 16px 0 6px; color: var(--muted); font-weight: 650; }
.banner { padding: 8px 12px; border-radius: 6px; margin: 0 0 10px; }
.banner-error { background: var(--accent-soft); color: var(--high); border: 1px solid var(--high); margin: 12px 20px 0; }
.banner-warn { background: color-mix(in srgb, var(--mid) 14%, transparent); border: 1px solid var(--mid); }
.notice { color: var(--muted); }
.stale { color: var(--high); font-weight: 600; }

.charts { display: grid; gap: 12px; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); }
.charts.wide { grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); }
.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px 6px; min-width: 0; }
.chart figcaption { display: flex; justify-content: space-between; gap: 8px; align-items: baseline; }
.chart-label { color: var(--muted); min-width: 0; overflow-wrap: anywhere; }
.chart-value { font-weight: 650; font-size: 18px; font-variant-numeric: tabular-nums; }
.chart-body { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 4px; margin-top: 4px; }
.y-ticks { display: flex; flex-direction: column; justify-content: space-between; height: 64px; color: var(--muted);
  font-size: 10px; line-height: 1; text-align: right; font-variant-numeric: tabular-nums; }
.chart-frame { position: relative; min-width: 0; touch-action: pan-y; }
.chart-plot { display: block; width: 100%; height: 64px; }
.chart-plot .cursor { stroke: var(--muted); stroke-width: 1; }
.chart-tip { position: absolute; top: -2px; left: 0; padding: 1px 6px; border-radius: 4px; white-space: nowrap; pointer-events: none;
  background: var(--text); color: var(--panel); font-size: 11.5px; font-variant-numeric: tabular-nums; }
.chart-plot .line { fill: none; stroke: var(--chart-line); stroke-width: 1.6; stroke-linejoin: round; }
.chart-plot .area { fill: var(--chart-area); stroke: none; }
.chart-plot .grid { stroke: var(--line); stroke-width: 1; stroke-dasharray: 3 3; }
.chart-axis { display: flex; padding-left: 28px; justify-content: space-between; color: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
.metrics-grid { display: grid; gap: 16px; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); }
.bars { display: grid; gap: 5px; }
.bar-row { display: grid; grid-template-columns: 54px minmax(0, 1fr) 58px; gap: 8px; align-items: center; }
.bar-label { color: var(--muted); font-size: 12.5px; white-space: nowrap; }
.bar { display: block; width: 100%; height: 12px; border-radius: 3px; }
.bar-value { text-align: right; font-variant-numeric: tabular-nums; }
.bar-track { fill: var(--track); }
.bar-fill.level-ok { fill: var(--ok); } .bar-fill.level-mid { fill: var(--mid); } .bar-fill.level-high { fill: var(--high); }
.meter { display: block; width: 100%; min-width: 60px; height: 5px; margin-top: 3px; }

.fn-filter { margin: 0 0 8px; max-width: 320px; }
.pager { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: center; justify-content: space-between; margin-top: 6px; }
.pager .actions { margin: 0; }
table.functions { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
.functions th, .functions td { text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.functions th { color: var(--muted); font-weight: 600; font-size: 12px; white-space: nowrap; }
.functions td.num, .functions th.num { text-align: right; }
.functions tbody tr[data-name] { cursor: pointer; }
.functions tbody tr[data-name]:hover { background: var(--code-bg); }
.functions tbody tr[aria-selected="true"] { background: var(--selected); box-shadow: inset 3px 0 0 var(--selected-edge); }
.fn-name { font: inherit; font-weight: 650; color: var(--info); background: none; border: 0; padding: 0; cursor: pointer; text-align: left; word-break: break-all; }
.sub { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap;
  border: 1px solid currentColor; }
.state-idle { color: var(--ok); } .state-running { color: var(--info); } .state-waiting { color: var(--mid); }
.state-error, .state-quarantined { color: var(--high); } .state-paused, .state-loading { color: var(--idle); }
.origin { color: var(--muted); font-size: 12px; border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; }

dl.settings { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 3px 14px; margin: 0; }
dl.settings dt { color: var(--muted); } dl.settings dd { margin: 0; overflow-wrap: anywhere; }
pre.block { background: var(--code-bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 0;
  max-height: 260px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.error { border-color: var(--high); }
.logs { list-style: none; margin: 0; padding: 6px 10px; max-height: 220px; overflow: auto; background: var(--code-bg);
  border: 1px solid var(--line); border-radius: 6px; }
.logs li { white-space: pre-wrap; overflow-wrap: anywhere; }
.log-warn { color: var(--mid); } .log-error { color: var(--high); }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-end; margin: 10px 0; }
.invoke-form { display: grid; gap: 6px; margin: 10px 0; }
.result { margin-top: 8px; }

form.stack { display: grid; gap: 10px; }
fieldset.plain { border: 0; padding: 0; margin: 0; min-width: 0; display: grid; gap: 10px; }
.fields { display: grid; gap: 10px; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); }
label { display: grid; gap: 3px; font-weight: 600; font-size: 12.5px; }
label .hint { font-weight: 400; color: var(--muted); }
input, select, textarea { font: inherit; font-weight: 400; color: var(--text); background: var(--bg); border: 1px solid var(--line);
  border-radius: 6px; padding: 6px 8px; width: 100%; min-width: 0; }
input[type=file] { padding: 5px; }
textarea { min-height: 60px; resize: vertical; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
button, .button { font: inherit; font-weight: 600; border-radius: 6px; padding: 6px 12px; cursor: pointer;
  border: 1px solid var(--line); background: var(--panel); color: var(--text); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--high); border-color: var(--high); }
button:disabled { opacity: .55; cursor: not-allowed; }
button.htmx-request, form.htmx-request button[type=submit] { opacity: .6; }
.form-error { color: var(--high); background: var(--accent-soft); border: 1px solid var(--high); border-radius: 6px; padding: 8px 10px; margin: 0; }
.form-ok { color: var(--ok); border: 1px solid var(--ok); border-radius: 6px; padding: 8px 10px; margin: 0; }
.signin { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.signin input { width: 220px; }
.access { color: var(--muted); font-size: 12.5px; }
details > summary { cursor: pointer; color: var(--muted); }

@media (max-width: 900px) {
  main { grid-template-columns: minmax(0, 1fr); grid-template-areas: "metrics" "functions" "detail" "register"; padding: 12px; }
  .metrics-grid { grid-template-columns: minmax(0, 1fr); }
  .top { padding: 10px 12px; }
}
@media (max-width: 640px) {
  .functions thead { display: none; }
  .functions, .functions tbody, .functions tr, .functions td { display: block; width: 100%; }
  .functions tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: 8px; padding: 4px 0; }
  .functions td { border: 0; padding: 3px 10px; display: flex; justify-content: space-between; gap: 12px; text-align: right; }
  .functions td.num { text-align: right; }
  .functions td::before { content: attr(data-label); color: var(--muted); font-size: 12px; text-align: left; }
  .functions td > * { min-width: 0; }
  .signin input { width: 100%; }
  .charts, .charts.wide { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .chart { padding: 6px 8px 4px; }
  .chart-value { font-size: 15px; }
  .chart-label { font-size: 12px; }
}
@media (max-width: 480px) {
  .charts, .charts.wide { grid-template-columns: minmax(0, 1fr); }
}
`;
