// The confusion matrix as a PNG: rows are the truth, columns the prediction, each row normalised
// to the share of that class's pixels (so the diagonal is the class's recall), drawn as
// shaded cells with the class names and the percentages. The picture is an SVG rendered by sharp
// (libvips/librsvg); the cell colour is `confusionColor(share)`, white to dark blue.
import sharp from 'sharp';

export interface ConfusionImageOptions {
  /** Title line above the matrix. */
  title?: string;
  /** Side of a cell in pixels (default: 56 for few classes, smaller for many, at least 12). */
  cell?: number;
}

const DEFAULT_TITLE = 'Confusion matrix: rows truth, columns prediction, each row 100%';
const LIGHT = [247, 251, 255] as const; // share 0
const DARK = [8, 48, 107] as const; // share 1
/** The colour of a row with no truth pixels (its shares are undefined). */
export const EMPTY_ROW_COLOR: readonly [number, number, number] = [221, 221, 221];

/** The cell colour of a share in [0, 1]: a straight line from near-white to dark blue (RGB). */
export function confusionColor(share: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, share));
  return [0, 1, 2].map((i) => Math.round(LIGHT[i]! + (DARK[i]! - LIGHT[i]!) * t)) as [number, number, number];
}

/** Each row divided by its sum (NaN for a row without pixels). */
export function rowShares(matrix: readonly (readonly number[])[]): number[][] {
  return matrix.map((row) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (sum > 0 ? v / sum : Number.NaN));
  });
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const hex = (c: readonly number[]): string => `#${c.map((x) => x.toString(16).padStart(2, '0')).join('')}`;

/** Where the cells lie in the image, for readers (and tests) that look at them. */
export interface ConfusionLayout {
  left: number;
  top: number;
  cell: number;
  width: number;
  height: number;
}

/** The layout of an n-class matrix with the longest class name `longest` characters. */
export function confusionLayout(n: number, longest: number, opts: ConfusionImageOptions = {}): ConfusionLayout {
  const title = opts.title ?? DEFAULT_TITLE;
  const cell = opts.cell ?? Math.max(12, Math.min(56, Math.floor(720 / Math.max(1, n))));
  const font = Math.min(13, Math.max(9, Math.floor(cell / 3.2)));
  const label = Math.ceil(longest * font * 0.62) + 12;
  const left = 22 + label; // "truth" written vertically, then the row names
  const top = 30 + 18 + label; // title, "prediction", then the column names (rotated)
  // wide enough for the title (bold 14 px: about 8.5 px a character)
  return { left, top, cell, width: Math.max(left + n * cell + 12, 20 + Math.ceil(title.length * 8.5)), height: top + n * cell + 12 };
}

/** The SVG of the matrix (see the file header). */
export function confusionSvg(matrix: readonly (readonly number[])[], classes: readonly string[], opts: ConfusionImageOptions = {}): string {
  const n = matrix.length;
  if (classes.length !== n || matrix.some((r) => r.length !== n)) {
    throw new Error(`confusion image: a ${n}x${matrix[0]?.length ?? 0} matrix needs ${n} class names and square rows, got ${classes.length} names`);
  }
  const L = confusionLayout(n, Math.max(1, ...classes.map((c) => c.length)), opts);
  const title = opts.title ?? DEFAULT_TITLE;
  const { left, top, cell } = L;
  const font = Math.min(13, Math.max(9, Math.floor(cell / 3.2)));
  const shares = rowShares(matrix);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${left + (n * cell) / 2}" y="44" font-size="12" text-anchor="middle" fill="#444">prediction</text>`,
    `<text transform="translate(14 ${top + (n * cell) / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#444">truth</text>`,
  ];
  classes.forEach((name, i) => {
    const mid = i * cell + cell / 2;
    parts.push(`<text x="${left - 6}" y="${top + mid + font / 3}" font-size="${font}" text-anchor="end">${esc(name)}</text>`);
    parts.push(`<text transform="translate(${left + mid + font / 3} ${top - 6}) rotate(-90)" font-size="${font}">${esc(name)}</text>`);
  });
  const showText = cell >= 28;
  shares.forEach((row, r) => {
    row.forEach((share, c) => {
      const x = left + c * cell;
      const y = top + r * cell;
      const fill = Number.isNaN(share) ? EMPTY_ROW_COLOR : confusionColor(share);
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${hex(fill)}" shape-rendering="crispEdges"/>`);
      if (showText) {
        const text = Number.isNaN(share) ? '-' : `${(share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0)}%`;
        parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + font / 3}" font-size="${font}" text-anchor="middle" fill="${share > 0.5 ? '#ffffff' : '#000000'}">${text}</text>`);
      }
    });
  });
  parts.push(`<rect x="${left}" y="${top}" width="${n * cell}" height="${n * cell}" fill="none" stroke="#888" stroke-width="1"/>`, '</svg>');
  return parts.join('\n');
}

/** The matrix as PNG bytes (see the file header). */
export async function confusionPng(matrix: readonly (readonly number[])[], classes: readonly string[], opts: ConfusionImageOptions = {}): Promise<Buffer> {
  return sharp(Buffer.from(confusionSvg(matrix, classes, opts))).flatten({ background: '#ffffff' }).png().toBuffer();
}
