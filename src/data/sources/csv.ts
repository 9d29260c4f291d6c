// CSV/TSV index files: one sample per row, paths relative to the index file, header names
// configurable, a mask column that may be missing or empty, extra columns kept in `meta`.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import type { DatasetSpec } from '../dataset.js';
import type { SampleRef } from '../types.js';

export interface CsvSourceOptions {
  /** The index file (.csv, .tsv or .txt). */
  file: string;
  /** Field separator. Default: tab for .tsv, else tab if the header line has one, else comma. */
  delimiter?: string;
  /** Column with the image path. Default: the first of IMAGE_COLUMNS in the header. */
  imageColumn?: string;
  /** Column with the mask path (empty cells mean no mask). Default: the first of MASK_COLUMNS in
   *  the header; none there means an image-only index. */
  maskColumn?: string;
  /** Column with the sample id. Default: the image path without extension. */
  idColumn?: string;
  /** Folder the paths are relative to. Default: the index file's folder. */
  root?: string;
}

/** Header names taken as the image column when `imageColumn` is not given (case-insensitive). */
export const IMAGE_COLUMNS = ['image', 'images', 'img', 'image_path', 'imagepath', 'image_file', 'input', 'rgb', 'filename', 'file', 'path'];
/** Header names taken as the mask column when `maskColumn` is not given (case-insensitive). */
export const MASK_COLUMNS = ['mask', 'masks', 'label', 'labels', 'annotation', 'annotations', 'gt', 'ground_truth', 'target', 'segmentation', 'seg', 'mask_path', 'label_path', 'indexlabel'];

/** Index of the first header name in `names` (case-insensitive, ignoring spaces), or -1. */
export function findColumn(header: string[], names: readonly string[]): number {
  const norm = header.map((h) => h.trim().toLowerCase().replace(/[\s-]+/g, '_'));
  for (const n of names) {
    const i = norm.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

/** RFC 4180 fields: quotes around fields, "" inside quotes, CRLF or LF line ends. */
export function parseDelimited(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false, i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += c;
  }
  if (quoted) throw new Error('unterminated quoted field at the end of the file');
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === '')); // blank lines
}

/** Read a CSV/TSV index into a dataset spec. Rows keep their order. */
export async function csvSource(opts: CsvSourceOptions): Promise<DatasetSpec> {
  const file = resolve(opts.file);
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new Error(`cannot read index file ${file}: ${e.message}`);
  });
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  if (opts.delimiter === undefined && isPairList(firstLine)) return pairListSource(file, text, opts.root);
  const delimiter = opts.delimiter ?? (extname(file).toLowerCase() === '.tsv' || firstLine.includes('\t') ? '\t' : ',');
  let rows: string[][];
  try {
    rows = parseDelimited(text, delimiter);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new Error(`${file}: empty index file (a header row is needed)`);
  const header = rows[0].map((h) => h.trim());
  const col = (name: string | undefined, required: boolean, option: string): number => {
    if (name === undefined) return -1;
    const i = header.indexOf(name);
    if (i < 0 && required) throw new Error(`${file}: no column "${name}" in the header (${header.join(', ')}); set \`${option}\` (CLI: --${option.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())})`);
    return i;
  };
  let ic = col(opts.imageColumn, true, 'imageColumn');
  if (opts.imageColumn === undefined) {
    ic = findColumn(header, IMAGE_COLUMNS);
    if (ic < 0) throw new Error(`${file}: no image column in the header (${header.join(', ')}); looked for ${IMAGE_COLUMNS.join(', ')}. Name it with \`imageColumn\` (CLI: --image-column)`);
  }
  const mc = opts.maskColumn !== undefined ? col(opts.maskColumn, true, 'maskColumn') : findColumn(header, MASK_COLUMNS);
  const dc = col(opts.idColumn, true, 'idColumn');
  const root = opts.root ? resolve(opts.root) : dirname(file);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(root, p));

  const refs: SampleRef[] = [];
  const seen = new Map<string, number>();
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const line = r + 1;
    if (row.length !== header.length) throw new Error(`${file}:${line}: ${row.length} fields, but the header has ${header.length}`);
    const image = row[ic].trim();
    if (!image) throw new Error(`${file}:${line}: empty "${header[ic]}" cell`);
    const id = dc >= 0 ? row[dc].trim() : image.replace(/\.[^./\\]+$/, '');
    if (seen.has(id)) throw new Error(`${file}:${line}: sample id "${id}" repeats line ${seen.get(id)}; ids must be unique`);
    seen.set(id, line);
    const ref: SampleRef = { id, imagePath: at(image) };
    const mask = mc >= 0 ? row[mc].trim() : '';
    if (mask) ref.maskPath = at(mask);
    const meta: Record<string, string> = {};
    header.forEach((h, i) => {
      if (i !== ic && i !== mc && i !== dc) meta[h] = row[i];
    });
    if (Object.keys(meta).length) ref.meta = meta;
    refs.push(ref);
  }
  return { refs };
}

const IMAGE_FILE = /\.(png|jpe?g|tiff?|webp|bmp)$/i;

/** A SegNet-style list line: two whitespace-separated image paths and no header. */
function isPairList(line: string): boolean {
  const f = line.trim().split(/\s+/);
  return f.length === 2 && IMAGE_FILE.test(f[0]) && IMAGE_FILE.test(f[1]) && !line.includes(',');
}

/** A SegNet-style list file: "image mask" per line, paths relative to the file (or `root`). */
function pairListSource(file: string, text: string, root?: string): DatasetSpec {
  const base = root ? resolve(root) : dirname(file);
  const refs: SampleRef[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    if (f.length !== 2) throw new Error(`${file}:${i + 1}: expected "image mask" (two paths separated by spaces), got ${f.length} field(s)`);
    // SegNet's lists hold absolute paths of the authors' machine (/SegNet/CamVid/train/x.png):
    // such a path is found under the list's folder by its shortest tail that exists there.
    const at = (p: string): string => {
      if (!isAbsolute(p) || existsSync(p)) return resolve(base, p);
      const parts = p.split(/[\\/]+/).filter(Boolean);
      for (let k = parts.length - 2; k >= 0; k--) {
        const c = resolve(base, ...parts.slice(k));
        if (existsSync(c)) return c;
      }
      return resolve(base, ...parts.slice(-2));
    };
    const id = f[0].replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, '');
    if (seen.has(id)) throw new Error(`${file}:${i + 1}: sample id "${id}" repeats line ${seen.get(id)}; ids must be unique`);
    seen.set(id, i + 1);
    refs.push({ id, imagePath: at(f[0]), maskPath: at(f[1]) });
  });
  return { refs };
}
