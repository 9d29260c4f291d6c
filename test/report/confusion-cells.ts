// Reads confusion.png's cells back: the colour 4 px inside each cell's top-left corner (clear of
// the centred percentage), after checking the image size against the layout.
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { confusionLayout } from '../../src/report/confusion-image.js';

/** The RGB of every cell, sampled 4 px inside its top-left corner (clear of the centred text). */
export async function cellColors(png: Buffer, n: number, longest: number, title?: string): Promise<number[][][]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const L = confusionLayout(n, longest, title === undefined ? {} : { title });
  assert.deepEqual([info.width, info.height], [L.width, L.height], 'image size follows the layout');
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => {
    const x = L.left + c * L.cell + 4;
    const y = L.top + r * L.cell + 4;
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  }));
}

