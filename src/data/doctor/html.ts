// The doctor's HTML report: one self-contained file (inline CSS, thumbnails as base64 PNG data
// URIs) listing every offending file under its check, so it can be mailed or archived.
import { probeImage, readImage, readMask } from '../../io/image.js';
import type { DatasetSpec } from '../dataset.js';
import { labelMapJson } from '../encodings.js';
import { colorizeMask, type Palette } from '../overlay.js';
import { encodePng, fitTile } from '../preview.js';
import { writeFileAtomic } from '../splits.js';
import { settingsOf, type DoctorIssue } from './checks.js';
import type { DoctorReport } from './index.js';

export interface HtmlOptions {
  /** Thumbnail box in pixels (default 96). */
  thumb?: number;
  /** At most this many thumbnails in the file (default 300); later rows list names only. */
  maxThumbs?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

async function thumbOf(file: string, kind: 'image' | 'mask', palette: Palette | undefined, size: number): Promise<string | undefined> {
  try {
    let img;
    if (kind === 'image') img = await readImage(file);
    else {
      const info = await probeImage(file);
      // Colour masks are shown as they are; id masks in palette colours.
      img = info.channels >= 3 && !info.isPalette ? await readImage(file) : colorizeMask(await readMask(file), palette ?? []);
    }
    return `data:image/png;base64,${(await encodePng(await fitTile(img, size))).toString('base64')}`;
  } catch {
    return undefined;
  }
}

function kindOf(file: string, i: DoctorIssue): 'image' | 'mask' {
  if (i.ref) return file === i.ref.maskPath ? 'mask' : 'image';
  return i.check === 'missing-image' ? 'mask' : 'image';
}

/** The report as an HTML page. */
export async function renderHtmlReport(report: DoctorReport, spec: DatasetSpec, opts: HtmlOptions = {}): Promise<string> {
  const size = opts.thumb ?? 96;
  let budget = opts.maxThumbs ?? 300;
  const out: string[] = [];
  out.push(`<!doctype html><html><head><meta charset="utf-8"><title>segkit doctor: ${esc(report.input)}</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 24px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}
.error{color:#b00020;font-weight:600}.warn{color:#a65e00;font-weight:600}.ok{color:#2e7d32}
img{image-rendering:pixelated;margin-right:4px;border:1px solid #ccc}code{font-size:12px;word-break:break-all}
.miss{display:inline-block;width:${size}px;height:${size}px;background:#eee;color:#888;font-size:11px;text-align:center;line-height:${size}px}
</style></head><body>`);
  out.push(`<h1>Dataset doctor</h1><p><code>${esc(report.input)}</code>: ${report.samples} samples, <span class="${report.errors ? 'error' : 'ok'}">${report.errors} error(s)</span>, <span class="${report.warnings ? 'warn' : 'ok'}">${report.warnings} warning(s)</span></p>`);
  out.push('<table><tr><th>check</th><th>what</th><th>level</th><th>count</th><th>fix</th></tr>');
  const notes = [...(report.notes ?? []), ...(report.encoding ? [`masks: ${report.encoding.summary}`] : [])];
  if (notes.length) out.push(`<ul>${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  if (report.encoding?.labelMap) out.push(`<p>Label map for these masks (save as <code>labelmap.json</code> beside the data):</p><pre>${esc(labelMapJson(report.encoding.labelMap))}</pre>`);
  for (const s of report.summary) {
    const cls = s.count === 0 ? 'ok' : s.severity;
    const link = s.count > 0 ? `<a href="#${s.check}">${s.check}</a>` : s.check;
    out.push(`<tr><td>${link}</td><td>${esc(s.title)}</td><td class="${cls}">${s.count === 0 ? 'ok' : s.severity}</td><td>${s.count}</td><td>${s.count ? esc(s.fix) : ''}</td></tr>`);
  }
  out.push('</table>');

  for (const s of report.summary) {
    if (s.count === 0) continue;
    out.push(`<h2 id="${s.check}" class="${s.severity}">${esc(s.title)} (${s.count})</h2><p>Fix: ${esc(s.fix)}</p><table><tr><th>problem</th><th>files</th></tr>`);
    for (const i of report.issues.filter((x) => x.check === s.check)) {
      const palette = settingsOf(i.ref ?? { id: '', imagePath: '' }, spec).labelMap?.palette;
      const cells: string[] = [];
      for (const file of i.files) {
        let img = '';
        if (budget > 0) {
          budget--;
          const uri = await thumbOf(file, kindOf(file, i), palette, size);
          img = uri ? `<img src="${uri}" alt="" width="${size}" height="${size}">` : `<span class="miss">unreadable</span>`;
        }
        cells.push(`<div>${img}<br><code>${esc(file)}</code></div>`);
      }
      out.push(`<tr><td>${esc(i.message)}</td><td style="display:flex;gap:8px">${cells.join('')}</td></tr>`);
    }
    out.push('</table>');
  }

  const st = report.stats;
  out.push('<h2>Classes</h2><table><tr><th>id</th><th>class</th><th>pixels</th><th>%</th><th>images</th></tr>');
  st.classPixels.forEach((n, c) => {
    if (n === 0 && !report.classes?.[c]) return; // only classes that occur or that the label map names
    const pct = st.labelledPixels ? ((100 * n) / st.labelledPixels).toFixed(2) : '0';
    out.push(`<tr><td>${c}</td><td>${esc(report.classes?.[c] ?? '')}</td><td>${n}</td><td>${pct}</td><td>${st.classImages[c]}</td></tr>`);
  });
  out.push('</table>');
  if (st.channels > 0) out.push(`<p>mean ${st.mean.map((m) => m.toFixed(4)).join(', ')}; std ${st.std.map((m) => m.toFixed(4)).join(', ')} (0–1 scale)</p>`);
  out.push('</body></html>\n');
  return out.join('\n');
}

/** Writes the HTML report atomically. */
export async function writeHtmlReport(path: string, report: DoctorReport, spec: DatasetSpec, opts: HtmlOptions = {}): Promise<void> {
  writeFileAtomic(path, await renderHtmlReport(report, spec, opts));
}
