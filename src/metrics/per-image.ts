// Per-image scores: each image gets its own IoU and Dice from its own confusion matrix, and the
// results are averaged over images. Only running sums are kept (O(classes) state), so a
// ConfusionMatrix can merge them, write them to JSON and read them back.
import { classScores, nanMean } from './scores.js';

/** Running sums behind the per-image means. */
export interface PerImageSums {
  /** Images with at least one counted pixel. */
  images: number;
  /** Images whose every pixel was ignored (left out of every per-image mean). */
  emptyImages: number;
  /** Sum over images of the image's mean IoU over the classes present in it. */
  miouSum: number;
  /** Sum over images of the image's mean Dice over the classes present in it. */
  meanDiceSum: number;
  /** Per class: sum of the class's IoU over the images where it is present. */
  iouSum: number[];
  /** Per class: sum of the class's Dice over the images where it is present. */
  diceSum: number[];
  /** Per class: images where the class is present (in the truth or the prediction). */
  presentImages: number[];
}

export function emptySums(numClasses: number): PerImageSums {
  const z = () => new Array<number>(numClasses).fill(0);
  return { images: 0, emptyImages: 0, miouSum: 0, meanDiceSum: 0, iouSum: z(), diceSum: z(), presentImages: z() };
}

/** Add one image's C x C matrix (rows truth, columns prediction) to the sums. */
export function addImage(sums: PerImageSums, m: ArrayLike<number>, numClasses: number): void {
  const s = classScores(m, numClasses);
  if (s.absent.length === numClasses) {
    sums.emptyImages++;
    return;
  }
  sums.images++;
  sums.miouSum += nanMean(s.iou);
  sums.meanDiceSum += nanMean(s.dice);
  for (let c = 0; c < numClasses; c++) {
    if (Number.isNaN(s.iou[c]!)) continue;
    sums.iouSum[c]! += s.iou[c]!;
    sums.diceSum[c]! += s.dice[c]!;
    sums.presentImages[c]!++;
  }
}

export function mergeSums(into: PerImageSums, other: PerImageSums): void {
  into.images += other.images;
  into.emptyImages += other.emptyImages;
  into.miouSum += other.miouSum;
  into.meanDiceSum += other.meanDiceSum;
  for (let c = 0; c < into.iouSum.length; c++) {
    into.iouSum[c]! += other.iouSum[c]!;
    into.diceSum[c]! += other.diceSum[c]!;
    into.presentImages[c]! += other.presentImages[c]!;
  }
}

/**
 * Means over images. An image's mIoU (and mean Dice) averages the classes present in that image
 * (in its truth or its prediction); a class's per-image IoU averages the images where it is
 * present. Images with every pixel ignored count in `emptyImages` and nowhere else.
 */
export interface PerImageScores {
  images: number;
  emptyImages: number;
  /** Mean over images of each image's mean IoU. */
  miou: number;
  /** Mean over images of each image's mean Dice. */
  meanDice: number;
  /** Per class: mean IoU over the images where the class is present (NaN where it never is). */
  iou: number[];
  /** Per class: mean Dice over the images where the class is present (NaN where it never is). */
  dice: number[];
  /**
   * Binary tasks (2 classes): mean over images of the foreground class's Dice, over the images
   * where the foreground is in the truth or the prediction; `emptyForegroundImages` counts the
   * others (no foreground anywhere: Dice is 0/0, left out rather than scored 1).
   */
  binaryDice?: number;
  emptyForegroundImages?: number;
}

export function perImageScores(s: PerImageSums, foreground: number | undefined): PerImageScores {
  const div = (a: number, n: number) => (n === 0 ? NaN : a / n);
  const out: PerImageScores = {
    images: s.images,
    emptyImages: s.emptyImages,
    miou: div(s.miouSum, s.images),
    meanDice: div(s.meanDiceSum, s.images),
    iou: s.iouSum.map((v, c) => div(v, s.presentImages[c]!)),
    dice: s.diceSum.map((v, c) => div(v, s.presentImages[c]!)),
  };
  if (foreground !== undefined) {
    out.binaryDice = out.dice[foreground];
    out.emptyForegroundImages = s.images - s.presentImages[foreground]!;
  }
  return out;
}
