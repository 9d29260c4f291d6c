// Mask R-CNN (He et al. 2017) as torchvision.models.detection (0.14) builds it: MaskRCNN (the
// FasterRCNN and MaskRCNN constructors, their defaults and keyword arguments in camelCase) and
// the builders maskrcnn_resnet50_fpn (v1: ResNet-50-FPN, TwoMLPHead, mask head without norm) and
// maskrcnn_resnet50_fpn_v2 (BatchNorm in the FPN, an RPN head of two convs, FastRCNNConvFCHead and
// a mask head with BatchNorm). State-dict keys are torchvision's, so its COCO weights load as
// they are. replaceMaskRcnnPredictors is torchvision's fine-tuning recipe: new box and mask
// predictors for another class count, every other weight kept.
import { basename } from 'node:path';
import { BatchNorm2d, type NormFactory } from '../../nn/index.js';
import { MultiScaleRoIAlign } from '../../detection/multi-scale-roi-align.js';
import { replaceModule } from '../adapt.js';
import { maskrcnnResnet50FpnBackbone, maskrcnnResnet50FpnV2Backbone } from './backbone-fpn.js';
import { AnchorGenerator } from './anchors.js';
import { RPNHead } from './rpn-head.js';
import { RegionProposalNetwork } from './rpn.js';
import { RoIHeads } from './roi-heads.js';
import { FastRCNNConvFCHead, FastRCNNPredictor, TwoMLPHead } from './box-head.js';
import { MaskRCNNHeads, MaskRCNNPredictor } from './mask-head.js';
import { GeneralizedRCNNTransform, type GeneralizedRCNNTransformOptions } from './transform.js';
import { GeneralizedRCNN, type DetectionBackbone } from './generalized-rcnn.js';
import { FrozenBatchNorm2d, type Module } from '../../nn/index.js';

/** torchvision's FasterRCNN / MaskRCNN keyword arguments, camelCase; every one has torchvision's default. */
export interface MaskRCNNOptions extends GeneralizedRCNNTransformOptions {
  /** Classes with the background; required unless both predictors are given. */
  numClasses?: number;
  rpnAnchorGenerator?: AnchorGenerator;
  rpnHead?: RPNHead;
  rpnPreNmsTopNTrain?: number;
  rpnPreNmsTopNTest?: number;
  rpnPostNmsTopNTrain?: number;
  rpnPostNmsTopNTest?: number;
  rpnNmsThresh?: number;
  rpnFgIouThresh?: number;
  rpnBgIouThresh?: number;
  rpnBatchSizePerImage?: number;
  rpnPositiveFraction?: number;
  rpnScoreThresh?: number;
  boxRoiPool?: MultiScaleRoIAlign;
  boxHead?: Module;
  boxPredictor?: Module;
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  boxFgIouThresh?: number;
  boxBgIouThresh?: number;
  boxBatchSizePerImage?: number;
  boxPositiveFraction?: number;
  bboxRegWeights?: [number, number, number, number];
  maskRoiPool?: MultiScaleRoIAlign;
  maskHead?: Module;
  maskPredictor?: Module;
}

const LEVELS = ['0', '1', '2', '3'];

export class MaskRCNN extends GeneralizedRCNN {
  /** `backbone`: feature levels '0'..'3' (and 'pool') of `outChannels` channels, e.g. BackboneWithFPN. */
  constructor(backbone: DetectionBackbone, opts: MaskRCNNOptions = {}) {
    checkClasses(opts);
    const { numClasses } = opts;
    const c = backbone.outChannels;
    const anchors = opts.rpnAnchorGenerator ?? new AnchorGenerator();
    const rpn = new RegionProposalNetwork(anchors, opts.rpnHead ?? new RPNHead(c, anchors.numAnchorsPerLocation()[0]), {
      fgIouThresh: opts.rpnFgIouThresh ?? 0.7,
      bgIouThresh: opts.rpnBgIouThresh ?? 0.3,
      batchSizePerImage: opts.rpnBatchSizePerImage ?? 256,
      positiveFraction: opts.rpnPositiveFraction ?? 0.5,
      preNmsTopN: { training: opts.rpnPreNmsTopNTrain ?? 2000, testing: opts.rpnPreNmsTopNTest ?? 1000 },
      postNmsTopN: { training: opts.rpnPostNmsTopNTrain ?? 2000, testing: opts.rpnPostNmsTopNTest ?? 1000 },
      nmsThresh: opts.rpnNmsThresh ?? 0.7,
      scoreThresh: opts.rpnScoreThresh ?? 0.0,
    });
    const boxRoiPool = opts.boxRoiPool ?? new MultiScaleRoIAlign(LEVELS, 7, 2);
    const resolution = boxRoiPool.outputSize[0];
    const roiHeads = new RoIHeads({
      boxRoiPool,
      boxHead: opts.boxHead ?? new TwoMLPHead(c * resolution ** 2, 1024),
      boxPredictor: opts.boxPredictor ?? new FastRCNNPredictor(1024, numClasses!),
      maskRoiPool: opts.maskRoiPool ?? new MultiScaleRoIAlign(LEVELS, 14, 2),
      maskHead: opts.maskHead ?? new MaskRCNNHeads(c, [256, 256, 256, 256], 1),
      maskPredictor: opts.maskPredictor ?? new MaskRCNNPredictor(256, 256, numClasses!),
    }, {
      fgIouThresh: opts.boxFgIouThresh ?? 0.5,
      bgIouThresh: opts.boxBgIouThresh ?? 0.5,
      batchSizePerImage: opts.boxBatchSizePerImage ?? 512,
      positiveFraction: opts.boxPositiveFraction ?? 0.25,
      bboxRegWeights: opts.bboxRegWeights,
      scoreThresh: opts.boxScoreThresh ?? 0.05,
      nmsThresh: opts.boxNmsThresh ?? 0.5,
      detectionsPerImg: opts.boxDetectionsPerImg ?? 100,
    });
    const transform = new GeneralizedRCNNTransform({
      minSize: opts.minSize ?? 800,
      maxSize: opts.maxSize ?? 1333,
      imageMean: opts.imageMean,
      imageStd: opts.imageStd,
      sizeDivisible: opts.sizeDivisible,
      fixedSize: opts.fixedSize,
    });
    super(backbone, rpn, roiHeads, transform);
  }
}

// torchvision's checks: numClasses builds the predictors, so it cannot come with one
function checkClasses(opts: MaskRCNNOptions): void {
  const { numClasses } = opts;
  if (numClasses !== undefined && opts.boxPredictor !== undefined) throw new Error('MaskRCNN: give numClasses or boxPredictor, not both');
  if (numClasses !== undefined && opts.maskPredictor !== undefined) throw new Error('MaskRCNN: give numClasses or maskPredictor, not both');
  if (numClasses === undefined && (opts.boxPredictor === undefined || opts.maskPredictor === undefined)) {
    throw new Error('MaskRCNN: numClasses is required (the classes with the background) unless boxPredictor and maskPredictor are given');
  }
}

/** The builders' options: MaskRCNN's, and whether weights will be loaded. */
export interface MaskRcnnBuilderOptions extends MaskRCNNOptions {
  /**
   * Whether trained weights (COCO, or an ImageNet backbone) will be loaded: torchvision's
   * is_trained. Trained: trainableBackboneLayers defaults to 3 and v1's ResNet uses
   * FrozenBatchNorm2d; untrained: every layer trains and v1 uses BatchNorm2d. Default: v1 true
   * (torchvision loads an ImageNet backbone by default), v2 false.
   */
  pretrained?: boolean;
  /** ResNet stages that train, counted from layer4 (0-5); default 3 when pretrained. */
  trainableBackboneLayers?: number;
}

const batchNorm2d: NormFactory = (ch) => new BatchNorm2d(ch);

/** torchvision's maskrcnn_resnet50_fpn: 91 COCO classes by default. */
export function maskrcnnResnet50Fpn(opts: MaskRcnnBuilderOptions = {}): MaskRCNN {
  const { pretrained = true, trainableBackboneLayers, numClasses, ...rest } = opts;
  checkClasses({ ...opts, numClasses: numClasses ?? defaultClasses(opts) }); // before building, so nothing is left to free
  const backbone = maskrcnnResnet50FpnBackbone({ pretrained, trainableLayers: trainableBackboneLayers });
  return buildOrFree(backbone, { numClasses: numClasses ?? defaultClasses(opts), ...rest });
}

/** torchvision's maskrcnn_resnet50_fpn_v2 (Li et al. 2021's improved recipe). */
export function maskrcnnResnet50FpnV2(opts: MaskRcnnBuilderOptions = {}): MaskRCNN {
  const { pretrained = false, trainableBackboneLayers, numClasses, ...rest } = opts;
  checkClasses({ ...opts, numClasses: numClasses ?? defaultClasses(opts) });
  const backbone = maskrcnnResnet50FpnV2Backbone({ pretrained, trainableLayers: trainableBackboneLayers });
  const c = backbone.outChannels;
  const anchors = rest.rpnAnchorGenerator ?? new AnchorGenerator();
  return buildOrFree(backbone, {
    numClasses: numClasses ?? defaultClasses(opts),
    rpnAnchorGenerator: anchors,
    rpnHead: rest.rpnHead ?? new RPNHead(c, anchors.numAnchorsPerLocation()[0], 2),
    boxHead: rest.boxHead ?? new FastRCNNConvFCHead([c, 7, 7], [256, 256, 256, 256], [1024], batchNorm2d),
    maskHead: rest.maskHead ?? new MaskRCNNHeads(c, [256, 256, 256, 256], 1, batchNorm2d),
    ...withoutUndefined(rest),
  });
}

// 91 as torchvision's builders; left out when both predictors are given (where torchvision's
// builders refuse, as its MaskRCNN class does not)
const defaultClasses = (opts: MaskRCNNOptions): number | undefined =>
  opts.boxPredictor !== undefined && opts.maskPredictor !== undefined ? undefined : 91;

const withoutUndefined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

function buildOrFree(backbone: DetectionBackbone, opts: MaskRCNNOptions): MaskRCNN {
  try {
    return new MaskRCNN(backbone, opts);
  } catch (e) {
    backbone.dispose();
    throw e;
  }
}

/**
 * torchvision's fine-tuning recipe: a new FastRCNNPredictor and MaskRCNNPredictor (256 hidden
 * channels) for `numClasses` (with the background), freshly initialised; the backbone, RPN and
 * heads keep their weights. The old predictors are disposed.
 */
export function replaceMaskRcnnPredictors(model: MaskRCNN, numClasses: number): MaskRCNN {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`replaceMaskRcnnPredictors: numClasses counts the background, so it is a whole number of at least 2; got ${numClasses}`);
  const box = model.roi_heads.box_predictor as FastRCNNPredictor;
  replaceModule(model, 'roi_heads.box_predictor', new FastRCNNPredictor(box.cls_score.inFeatures, numClasses));
  const mask = model.roi_heads.mask_predictor as MaskRCNNPredictor | undefined;
  if (mask === undefined) throw new Error('replaceMaskRcnnPredictors: the model has no mask branch');
  replaceModule(model, 'roi_heads.mask_predictor', new MaskRCNNPredictor(mask.conv5_mask.inChannels, 256, numClasses));
  return model;
}

/** The builders' options beyond numClasses and the weights, for models.create's option check. */
export const MASK_RCNN_OPTIONS = [
  'pretrained', 'trainableBackboneLayers', 'minSize', 'maxSize', 'imageMean', 'imageStd', 'sizeDivisible', 'fixedSize',
  'rpnAnchorGenerator', 'rpnHead', 'rpnPreNmsTopNTrain', 'rpnPreNmsTopNTest', 'rpnPostNmsTopNTrain', 'rpnPostNmsTopNTest',
  'rpnNmsThresh', 'rpnFgIouThresh', 'rpnBgIouThresh', 'rpnBatchSizePerImage', 'rpnPositiveFraction', 'rpnScoreThresh',
  'boxRoiPool', 'boxHead', 'boxPredictor', 'boxScoreThresh', 'boxNmsThresh', 'boxDetectionsPerImg', 'boxFgIouThresh',
  'boxBgIouThresh', 'boxBatchSizePerImage', 'boxPositiveFraction', 'bboxRegWeights', 'maskRoiPool', 'maskHead', 'maskPredictor',
];

const COCO_V1_FILE = 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth';

/**
 * torchvision's overwrite_eps(model, 0.0) after loading MaskRCNN_ResNet50_FPN_Weights.COCO_V1
 * (trained when FrozenBatchNorm2d had eps 0): applied when the weights are that file, by name
 * or by its file name.
 */
export function useCocoV1Eps(model: Module, weights: { file: string; info?: { builder: string; name: string } }): void {
  const byName = weights.info?.builder === 'maskrcnn_resnet50_fpn' && weights.info.name === 'COCO_V1';
  if (!byName && basename(weights.file) !== COCO_V1_FILE) return;
  for (const m of model.modules()) if (m instanceof FrozenBatchNorm2d) m.eps = 0;
}
