// Mask R-CNN sized for small datasets and CPUs: torchvision's parts (resnet_fpn_backbone on any
// ResNet, MaskRCNN with its heads built narrower), so parameter names stay torchvision's and a
// model built with torchvision's widths (resnet50, 256, 1024, 256) is maskrcnn_resnet50_fpn. The
// widths matter on a CPU: with 256 channels the FPN's 3x3 convs and the mask head's four 3x3
// convs on every positive RoI cost more than the ResNet itself.
import { BatchNorm2d, type NormFactory } from '../../nn/index.js';
import { resnet, type ResNetName } from '../backbones/resnet.js';
import { frozenBatchNorm, resnetFpnExtractor } from './backbone-fpn.js';
import { AnchorGenerator, FPN_ASPECT_RATIOS } from './anchors.js';
import { FastRCNNPredictor, TwoMLPHead } from './box-head.js';
import { MaskRCNNHeads, MaskRCNNPredictor } from './mask-head.js';
import { MaskRCNN, type MaskRCNNOptions } from './mask-rcnn.js';

const RESNETS: readonly ResNetName[] = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152'];

export interface MaskRcnnResnetOptions extends Omit<MaskRCNNOptions, 'boxHead' | 'boxPredictor' | 'maskHead' | 'maskPredictor' | 'rpnAnchorGenerator'> {
  /** Default 'resnet18'. */
  backbone?: ResNetName;
  /** ImageNet weights will be loaded into the ResNet: FrozenBatchNorm2d, trainableBackboneLayers 3. Default false. */
  pretrained?: boolean;
  /** ResNet stages that train, counted from layer4 (0-5); default 3 when pretrained, else 5. */
  trainableBackboneLayers?: number;
  /** Channels of every FPN level; default 128 (torchvision: 256). */
  fpnChannels?: number;
  /** Width of the box head's two fully connected layers; default 512 (torchvision: 1024). */
  boxHeadSize?: number;
  /** Channels of the mask head's convs and the predictor's upsampling; default 128 (torchvision: 256). */
  maskHeadChannels?: number;
  /** Number of 3x3 convs in the mask head; default 4 (torchvision's). */
  maskHeadLayers?: number;
  /** One anchor size per FPN level (5: levels '0'-'3' and 'pool'); default 32, 64, 128, 256, 512 (torchvision's). */
  anchorSizes?: number[];
}

const positive = (name: string, v: number | undefined): void => {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new Error(`maskrcnn_resnet_fpn: ${name} must be a positive whole number, got ${v}`);
};

/** Mask R-CNN on a ResNet-FPN with narrower heads (options above); numClasses counts the background. */
export function maskrcnnResnetFpn(opts: MaskRcnnResnetOptions = {}): MaskRCNN {
  const { backbone = 'resnet18', pretrained = false, trainableBackboneLayers, fpnChannels = 128, boxHeadSize = 512, maskHeadChannels = 128, maskHeadLayers = 4, anchorSizes, numClasses, ...rest } = opts;
  // everything is checked before anything is built, so a refusal leaves nothing to free
  if (!RESNETS.includes(backbone)) throw new Error(`maskrcnn_resnet_fpn: backbone must be one of ${RESNETS.join(', ')}, got '${backbone}'`);
  for (const [k, v] of Object.entries({ fpnChannels, boxHeadSize, maskHeadChannels, maskHeadLayers, numClasses })) positive(k, v);
  if (numClasses === undefined) throw new Error('maskrcnn_resnet_fpn: numClasses is required (the classes with the background)');
  if (anchorSizes !== undefined && (anchorSizes.length !== 5 || anchorSizes.some((s) => !(s > 0)))) {
    throw new Error(`maskrcnn_resnet_fpn: anchorSizes takes 5 positive sizes, one per FPN level (e.g. [16, 32, 64, 128, 256]), got [${anchorSizes.join(', ')}]`);
  }
  const trainable = trainableBackboneLayers ?? (pretrained ? 3 : 5);
  if (!Number.isInteger(trainable) || trainable < 0 || trainable > 5) throw new Error(`maskrcnn_resnet_fpn: trainableBackboneLayers must be a whole number from 0 to 5, got ${trainable}`);
  const norm: NormFactory = pretrained ? frozenBatchNorm : (c) => new BatchNorm2d(c);
  const body = resnetFpnExtractor(resnet(backbone, { norm }), trainable, { outChannels: fpnChannels });
  try {
    return new MaskRCNN(body, {
      ...rest,
      rpnAnchorGenerator: new AnchorGenerator((anchorSizes ?? [32, 64, 128, 256, 512]).map((s) => [s]), FPN_ASPECT_RATIOS),
      boxHead: new TwoMLPHead(fpnChannels * 7 * 7, boxHeadSize),
      boxPredictor: new FastRCNNPredictor(boxHeadSize, numClasses),
      maskHead: new MaskRCNNHeads(fpnChannels, Array<number>(maskHeadLayers).fill(maskHeadChannels), 1),
      maskPredictor: new MaskRCNNPredictor(maskHeadChannels, maskHeadChannels, numClasses),
    });
  } catch (e) {
    body.dispose();
    throw e;
  }
}
