// Scores from a confusion matrix, in plain JS over float64 counts (exact up to 2^53 pixels).
// The matrix is row-major, rows = true class, columns = predicted class (scikit-learn's
// `confusion_matrix` layout). A class absent from both the truth and the prediction has no
// IoU, Dice, precision or recall (NaN): it is left out of every mean and listed in `absent`.

/** Per-class scores of one confusion matrix (each array has one entry per class). */
export interface ClassScores {
  /** Intersection over union, TP / (TP + FP + FN); NaN for an absent class. */
  iou: number[];
  /** Dice coefficient = pixel F1 score, 2 TP / (2 TP + FP + FN); NaN for an absent class. */
  dice: number[];
  /** TP / predicted pixels of the class; NaN when the class is never predicted. */
  precision: number[];
  /** TP / true pixels of the class (class accuracy); NaN when the class is not in the truth. */
  recall: number[];
  /** True pixels of each class (the matrix's row sums). */
  support: number[];
  /** Predicted pixels of each class (the matrix's column sums). */
  predicted: number[];
  /** Classes absent from both the truth and the prediction. */
  absent: number[];
}

/** Mean of the non-NaN entries; NaN when there are none. */
export function nanMean(xs: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (!Number.isNaN(x)) {
      sum += x;
      n++;
    }
  }
  return n === 0 ? NaN : sum / n;
}

/** Per-class scores of a C x C matrix (rows truth, columns prediction). */
export function classScores(m: ArrayLike<number>, numClasses: number): ClassScores {
  const C = numClasses;
  const support = new Array<number>(C).fill(0);
  const predicted = new Array<number>(C).fill(0);
  for (let t = 0; t < C; t++) {
    for (let p = 0; p < C; p++) {
      const v = m[t * C + p]!;
      support[t]! += v;
      predicted[p]! += v;
    }
  }
  const iou: number[] = [];
  const dice: number[] = [];
  const precision: number[] = [];
  const recall: number[] = [];
  const absent: number[] = [];
  for (let c = 0; c < C; c++) {
    const tp = m[c * C + c]!;
    const both = support[c]! + predicted[c]!;
    if (both === 0) absent.push(c);
    iou.push(both === 0 ? NaN : tp / (both - tp));
    dice.push(both === 0 ? NaN : (2 * tp) / both);
    precision.push(predicted[c] === 0 ? NaN : tp / predicted[c]!);
    recall.push(support[c] === 0 ? NaN : tp / support[c]!);
  }
  return { iou, dice, precision, recall, support, predicted, absent };
}

/** Dataset-level summary scores of a C x C matrix. */
export interface SummaryScores {
  /** Pixels counted (ignored pixels left out). */
  pixels: number;
  /** Mean IoU over the classes not absent. */
  miou: number;
  /** Mean Dice (= macro F1) over the classes not absent. */
  meanDice: number;
  /** Correct pixels / counted pixels. */
  pixelAccuracy: number;
  /** Mean recall over the classes present in the truth (scikit-learn's balanced accuracy). */
  meanClassAccuracy: number;
  /** IoU weighted by each class's share of the true pixels. */
  fwIou: number;
}

export function summaryScores(m: ArrayLike<number>, s: ClassScores): SummaryScores {
  const C = s.iou.length;
  let pixels = 0;
  let correct = 0;
  for (let c = 0; c < C; c++) {
    pixels += s.support[c]!;
    correct += m[c * C + c]!;
  }
  let fw = 0;
  for (let c = 0; c < C; c++) if (s.support[c]! > 0) fw += (s.support[c]! / pixels) * s.iou[c]!;
  return {
    pixels,
    miou: nanMean(s.iou),
    meanDice: nanMean(s.dice),
    pixelAccuracy: pixels === 0 ? NaN : correct / pixels,
    meanClassAccuracy: nanMean(s.recall),
    fwIou: pixels === 0 ? NaN : fw,
  };
}
