// CSV/TSV index files: one sample per row, paths relative to the index file, header names
// configurable, a mask column that may be missing or empty, extra columns kept in `meta`.
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import type { DatasetSpec } from '../dataset.js';
import type { SampleRef } from '../types.js';

export interface CsvSourceOptions {
  /** The index file (.csv, .tsv or .txt). */
  file: string;
  /** Field separator. Default: tab for .tsv, else tab if the header line has one, else comma. */
  delimiter?: string;
  /** Column with the image path. Default 'image'. */
  imageColumn?: string;
  /** Column with the mask path (optional column; empty cells mean no mask). Default 'mask'. */
  maskColumn?: string;
  /** Column with the sample id. Default: the image path without extension. */
  idColumn?: string;
  /** Folder the paths are relative to. Default: the index file's folder. */
  root?: string;
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
    if (i < 0 && required) throw new Error(`${file}: no column "${name}" in the header (${header.join(', ')}); set \`${option}\``);
    return i;
  };
  const ic = col(opts.imageColumn ?? 'image', true, 'imageColumn');
  const mc = col(opts.maskColumn ?? 'mask', opts.maskColumn !== undefined, 'maskColumn');
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
