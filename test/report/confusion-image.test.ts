// confusion.png: every cell's colour is the row share's colour (rows truth, columns prediction,
// each row normalised), an empty truth row is grey, the size follows the layout; read back from
// the PNG's pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confusionColor, confusionPng, confusionSvg, EMPTY_ROW_COLOR, rowShares } from '../../src/report/confusion-image.js';
import { cellColors } from './confusion-cells.js';

const near = (a: number[], b: readonly number[], what: string) => assert.ok(a.every((v, i) => Math.abs(v - b[i]!) <= 1), `${what}: got rgb(${a.join(',')}), want rgb(${b.join(',')})`);

test('each cell is coloured by its share of the truth row; an empty row is grey', async () => {
  const classes = ['background', 'cat', 'dog'];
  const matrix = [
    [80, 15, 5], // background: 80% right
    [0, 0, 0], // cat: no truth pixels
    [10, 30, 60],
  ];
  const png = await confusionPng(matrix, classes);
  const cells = await cellColors(png, 3, 'background'.length);
  const shares = rowShares(matrix);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) near(cells[r]![c]!, r === 1 ? EMPTY_ROW_COLOR : confusionColor(shares[r]![c]!), `cell truth ${classes[r]} / predicted ${classes[c]}`);
  }
  // the scale runs from light (0) to dark (1), so the diagonal of a good model stands out
  const lum = (c: number[]) => c[0]! + c[1]! + c[2]!;
  assert.ok(lum(cells[0]![0]!) < lum(cells[0]![1]!) && lum(cells[0]![1]!) < lum(cells[0]![2]!));
  assert.deepEqual(confusionColor(0), [247, 251, 255]);
  assert.deepEqual(confusionColor(1), [8, 48, 107]);
});

test('the picture names the classes on both axes, and the axes', () => {
  const svg = confusionSvg([[1, 0], [0, 1]], ['road', 'grass & <dirt>']);
  assert.equal(svg.match(/>road</g)?.length, 2);
  assert.equal(svg.match(/>grass &amp; &lt;dirt&gt;</g)?.length, 2, 'names escaped, on rows and columns');
  assert.match(svg, />prediction</);
  assert.match(svg, />truth</);
  assert.match(svg, />100%</);
  assert.throws(() => confusionSvg([[1, 0], [0, 1]], ['one']), /needs 2 class names/);
});
