// The run report page: self-contained (uPlot and its stylesheet inline, images as data URIs,
// nothing fetched), every figure it is given shown, names escaped, absent classes named as such.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { chartData, renderRunReport, writeRunReport, type RunReportData } from '../../src/report/html.js';

const sample = async (): Promise<RunReportData> => ({
  title: 'shapes <unet>',
  subtitle: 'unet on data/shapes',
  summary: { 'test mIoU': 0.8123, 'best epoch': '12' },
  series: [
    { name: 'train loss', group: 'loss', points: [[1, 1.2], [2, 0.9], [3, 0.7]] },
    { name: 'val loss', group: 'loss', points: [[2, 1.0], [4, 0.8]] },
    { name: 'lr', group: 'learning rate', points: [[1, 0.01], [2, NaN]] },
  ],
  classTable: { classes: ['background', '<script>alert(1)</script>'], columns: [{ name: 'IoU', values: [0.951, NaN], format: 'percent' }, { name: 'pixels', values: [12345, 0], format: 'integer' }] },
  confusion: { classes: ['background', 'circle'], matrix: [[90, 10], [0, 0]] },
  panels: [{ caption: 'image | truth | prediction', png: await sharp({ create: { width: 4, height: 2, channels: 3, background: '#f00' } }).png().toBuffer() }],
  config: { model: { name: 'unet' } },
});

test('curves of a group share one x axis, with gaps where a series has no point', () => {
  assert.deepEqual(chartData([
    { name: 'train', group: 'loss', points: [[1, 3], [3, 1]] },
    { name: 'val', group: 'loss', points: [[2, 2], [3, Infinity]] },
    { name: 'lr', group: 'lr', points: [[1, 0.1]] },
  ]), [
    { group: 'loss', names: ['train', 'val'], data: [[1, 2, 3], [3, null, 1], [null, 2, null]] },
    { group: 'lr', names: ['lr'], data: [[1], [0.1]] },
  ]);
});

test('the page holds every figure, inline and escaped, and fetches nothing', async () => {
  const d = await sample();
  const html = renderRunReport(d);
  assert.match(html, /<title>shapes &#60;unet&#62;<\/title>/);
  assert.ok(!html.includes('<script>alert(1)'), 'a class name cannot inject a script');
  assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;<\/td><td><span class="absent">absent<\/span>/);
  assert.match(html, /<td>95\.1<\/td><td>12,345<\/td>/);
  assert.match(html, /<b>0\.8123<\/b><span>test mIoU<\/span>/);
  assert.match(html, /title="90\.0% of row">90<\/td>/);
  assert.match(html, /title="0\.0% of row">0<\/td>/, 'an empty truth row shades nothing');
  const png = /src="data:image\/png;base64,([^"]+)"/.exec(html)![1]!;
  assert.deepEqual(await sharp(Buffer.from(png, 'base64')).metadata().then((m) => [m.width, m.height]), [4, 2]);
  const charts = JSON.parse(/<script type="application\/json" id="chart-data">(.*?)<\/script>/s.exec(html)![1]!);
  assert.deepEqual(charts, chartData(d.series!));
  assert.match(html, /uPlot/);
  assert.ok(!/(src|href)="https?:/.test(html), 'no external resources');
  assert.match(html, /<details><summary>Configuration<\/summary><pre>\{\n {2}&#34;model&#34;/);
});

test('writeRunReport leaves the finished page and no temporary file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-report-'));
  try {
    writeRunReport(join(dir, 'report.html'), await sample());
    assert.deepEqual(readdirSync(dir), ['report.html']);
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /^<!doctype html>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
