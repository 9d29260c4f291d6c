// A run report as one self-contained HTML page: curves (loss, learning rate, metrics) drawn by
// uPlot, inlined with its stylesheet so the page works offline and as an attachment; the summary,
// the per-class table, the confusion matrix (a table shaded by row share) and prediction panels
// (PNG data URIs). Nothing is fetched when the page opens.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { writeFileAtomic } from '../data/splits.js';

/** One curve: points [x, y] (x usually the iteration), drawn in the chart of its `group`. */
export interface Series {
  name: string;
  group: string;
  points: [number, number][];
}

export interface ClassTable {
  classes: string[];
  /** Columns of per-class values; `percent` shows 0.734 as 73.4 (NaN shows as 'absent'). */
  columns: { name: string; values: number[]; format?: 'percent' | 'number' | 'integer' }[];
}

export interface RunReportData {
  title: string;
  /** A line under the title: model, data, date. */
  subtitle?: string;
  /** Headline figures (mIoU, pixel accuracy, best epoch, time). */
  summary?: Record<string, number | string>;
  series?: Series[];
  classTable?: ClassTable;
  /** Pixel counts, rows the truth and columns the prediction. */
  confusion?: { classes: string[]; matrix: number[][] };
  panels?: { caption: string; png: Uint8Array }[];
  /** The run's configuration, shown folded. */
  config?: unknown;
}

const require = createRequire(import.meta.url);
let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// JSON inside <script>: '<' escaped so no string can close the element
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

function formatValue(v: number, format: 'percent' | 'number' | 'integer' = 'number'): string {
  if (Number.isNaN(v)) return '<span class="absent">absent</span>';
  if (format === 'percent') return (v * 100).toFixed(1);
  if (format === 'integer') return Math.round(v).toLocaleString('en-US');
  return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

/** Series of each group on one shared x axis (the union of their x, gaps where one has no point). */
export function chartData(series: Series[]): { group: string; names: string[]; data: (number | null)[][] }[] {
  const groups = [...new Set(series.map((s) => s.group))];
  return groups.map((group) => {
    const members = series.filter((s) => s.group === group);
    const xs = [...new Set(members.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const ys = members.map((s) => {
      const row: (number | null)[] = new Array(xs.length).fill(null);
      for (const [x, y] of s.points) row[index.get(x)!] = Number.isFinite(y) ? y : null;
      return row;
    });
    return { group, names: members.map((s) => s.name), data: [xs, ...ys] };
  });
}

function classTableHtml(t: ClassTable): string {
  const head = `<tr><th>class</th>${t.columns.map((c) => `<th>${escapeHtml(c.name)}</th>`).join('')}</tr>`;
  const rows = t.classes.map((name, i) => `<tr><td>${escapeHtml(name)}</td>${t.columns.map((c) => `<td>${formatValue(c.values[i] ?? NaN, c.format)}</td>`).join('')}</tr>`);
  return `<table class="classes">${head}${rows.join('')}</table>`;
}

function confusionHtml(c: { classes: string[]; matrix: number[][] }): string {
  const head = `<tr><th>truth \\ prediction</th>${c.classes.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}</tr>`;
  const rows = c.matrix.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cells = row.map((v) => {
      const share = total > 0 ? v / total : 0;
      return `<td style="background:rgba(31,119,180,${share.toFixed(3)})" title="${(share * 100).toFixed(1)}% of row">${v.toLocaleString('en-US')}</td>`;
    });
    return `<tr><th>${escapeHtml(c.classes[i] ?? String(i))}</th>${cells.join('')}</tr>`;
  });
  return `<table class="confusion">${head}${rows.join('')}</table>`;
}

/** The page as a string (see writeRunReport). */
export function renderRunReport(d: RunReportData): string {
  const { js, css } = uplot();
  const parts: string[] = [`<h1>${escapeHtml(d.title)}</h1>`];
  if (d.subtitle) parts.push(`<p class="sub">${escapeHtml(d.subtitle)}</p>`);
  if (d.summary && Object.keys(d.summary).length > 0) {
    parts.push(`<div class="summary">${Object.entries(d.summary).map(([k, v]) => `<div><b>${escapeHtml(typeof v === 'number' ? formatValue(v) : v)}</b><span>${escapeHtml(k)}</span></div>`).join('')}</div>`);
  }
  const charts = chartData(d.series ?? []);
  if (charts.length > 0) parts.push('<h2>Curves</h2><div id="charts"></div>');
  if (d.classTable) parts.push('<h2>Per class</h2>', classTableHtml(d.classTable));
  if (d.confusion) parts.push('<h2>Confusion matrix</h2>', confusionHtml(d.confusion));
  if (d.panels && d.panels.length > 0) {
    parts.push('<h2>Predictions</h2>', ...d.panels.map((p) => `<figure><img alt="${escapeHtml(p.caption)}" src="data:image/png;base64,${Buffer.from(p.png).toString('base64')}"><figcaption>${escapeHtml(p.caption)}</figcaption></figure>`));
  }
  if (d.config !== undefined) parts.push(`<details><summary>Configuration</summary><pre>${escapeHtml(JSON.stringify(d.config, null, 2))}</pre></details>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(d.title)}</title>
<meta name="generator" content="segkit">
<style>${css}
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
.sub{color:#666}.summary{display:flex;flex-wrap:wrap;gap:1em}.summary div{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}
.summary b{display:block;font-size:1.5em}.summary span{color:#666}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}
.absent{color:#999;font-style:italic}figure{display:inline-block;margin:.5em}img{max-width:100%;image-rendering:pixelated}
</style></head><body>
${parts.join('\n')}
<script>${js}</script>
<script type="application/json" id="chart-data">${scriptJson(charts)}</script>
<script>
const colors=['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#8c564b','#e377c2','#7f7f7f'];
for (const c of JSON.parse(document.getElementById('chart-data').textContent)) {
  const el=document.createElement('div');document.getElementById('charts').appendChild(el);
  new uPlot({title:c.group,width:Math.min(1050,innerWidth-40),height:260,scales:{x:{time:false}},
    series:[{label:'step'},...c.names.map((n,i)=>({label:n,stroke:colors[i%colors.length],spanGaps:true}))]},c.data,el);
}
</script>
</body></html>
`;
}

/** Writes the page atomically (a reader never sees half a report). */
export function writeRunReport(file: string, d: RunReportData): void {
  writeFileAtomic(file, renderRunReport(d));
}
