// The RoI heads' training losses as torchvision.models.detection.roi_heads (0.14) computes them:
// fastrcnn_loss (cross-entropy over the sampled proposals' classes, plus smooth L1 with beta 1/9
// between the positive proposals' deltas of their own class and their regression targets, summed
// and divided by the number of sampled proposals) and maskrcnn_loss (binary cross-entropy with
// logits between each positive proposal's mask logits of its ground-truth class and its ground-truth
// mask cut out by RoIAlign to the logits' size, project_masks_on_boxes; with no positive proposal
// at all, zero with a gradient, as torchvision's mask_logits.sum() * 0).
import { F, arange, cat, op, tidy, type Tensor } from '../../torch/index.js';
import { roiAlign } from '../../detection/roi-align.js';

/**
 * `classLogits` (N, C) and `boxRegression` (N, 4C) of the sampled proposals of all images;
 * `labels` per image (0 background) and `regressionTargets` per image (Nᵢ, 4).
 */
export function fastrcnnLoss(classLogits: Tensor, boxRegression: Tensor, labels: Tensor[], regressionTargets: Tensor[]): { lossClassifier: Tensor; lossBoxReg: Tensor } {
  return tidy(() => {
    const allLabels = cat(labels, 0);
    const targets = cat(regressionTargets, 0);
    const lossClassifier = F.crossEntropy(classLogits, allLabels);
    const pos = op('nonzero', allLabels.gt(0)).reshape(-1);
    const labelsPos = allLabels.indexSelect(0, pos);
    const n = classLogits.size(0);
    // each positive proposal's deltas for its own class
    const deltas = op('index.Tensor', boxRegression.reshape(n, -1, 4), [pos, labelsPos]);
    const sum = op('smooth_l1_loss', deltas, targets.indexSelect(0, pos), 2, 1 / 9);
    return { lossClassifier, lossBoxReg: sum.div(allLabels.numel) };
  });
}

/**
 * torchvision's project_masks_on_boxes: the ground-truth masks `gtMasks` (G, H, W) under `boxes`
 * (P, 4), mask `matchedIdxs[i]` for box i, resampled to (P, m, m) floats by RoIAlign.
 */
export function projectMasksOnBoxes(gtMasks: Tensor, boxes: Tensor, matchedIdxs: Tensor, m: number): Tensor {
  return tidy(() => {
    const rois = cat([matchedIdxs.to(boxes.dtype).unsqueeze(1), boxes], 1);
    return roiAlign(gtMasks.unsqueeze(1).to(rois.dtype), rois, [m, m], { spatialScale: 1 }).select(1, 0);
  });
}

/**
 * `maskLogits` (P, C, m, m) of the positive proposals of all images; per image the proposals
 * (Pᵢ, 4), the ground-truth masks (Gᵢ, H, W) and labels (Gᵢ), and each proposal's matched ground truth (Pᵢ).
 */
export function maskrcnnLoss(maskLogits: Tensor, proposals: Tensor[], gtMasks: Tensor[], gtLabels: Tensor[], matchedIdxs: Tensor[]): Tensor {
  return tidy(() => {
    const m = maskLogits.size(-1);
    const labels = cat(gtLabels.map((l, i) => l.indexSelect(0, matchedIdxs[i])), 0);
    const targets = cat(proposals.map((p, i) => projectMasksOnBoxes(gtMasks[i], p, matchedIdxs[i], m)), 0);
    if (targets.numel === 0) return maskLogits.sum().mul(0);
    const rows = arange(0, labels.size(0), 1, { dtype: 'int64', device: labels.device });
    return F.binaryCrossEntropyWithLogits(op('index.Tensor', maskLogits, [rows, labels]), targets);
  });
}
