// The backbone of torchvision's R-CNN detectors: a ResNet cut after layer4 whose stage outputs
// feed an FPN (torchvision's BackboneWithFPN, resnet_fpn_backbone and _resnet_fpn_extractor).
// Keys are torchvision's `backbone.*` without the prefix (`body.layer1.0.conv1.weight`,
// `fpn.inner_blocks.0.0.weight`), so a Mask R-CNN holding it as `backbone` loads torchvision's
// COCO weights as they are. Outputs: levels '0'..'3' (strides 4..32) and 'pool' (stride 64),
// each with 256 channels.
import { Tensor } from '../../torch/index.js';
import { BatchNorm2d, FrozenBatchNorm2d, Module, type NormFactory } from '../../nn/index.js';
import { IntermediateLayerGetter, type Features } from '../backbones/features.js';
import { resnet, type ResNet, type ResNetName } from '../backbones/resnet.js';
import { FeaturePyramidNetwork, LastLevelMaxPool, type ExtraFpnBlock } from './fpn.js';

export const frozenBatchNorm: NormFactory = (c) => new FrozenBatchNorm2d(c);
const batchNorm2d: NormFactory = (c) => new BatchNorm2d(c);

export interface BackboneWithFpnOptions {
  /** Default LastLevelMaxPool (the 'pool' level). */
  extraBlocks?: ExtraFpnBlock;
  /** Norm layer of the FPN's convs (v2: BatchNorm2d); default none. */
  norm?: NormFactory;
}

/** body (the backbone's maps by `returnLayers`) → fpn; (N, 3, H, W) → levels of (N, outChannels, h, w). */
export class BackboneWithFPN extends Module {
  declare body: IntermediateLayerGetter;
  declare fpn: FeaturePyramidNetwork;
  readonly outChannels: number;

  /** Takes `backbone`'s layers (see IntermediateLayerGetter); `inChannelsList`: channels of the returned maps, in order. */
  constructor(backbone: Module, returnLayers: Record<string, string>, inChannelsList: number[], outChannels: number, opts: BackboneWithFpnOptions = {}) {
    super();
    this.body = new IntermediateLayerGetter(backbone, returnLayers);
    this.fpn = new FeaturePyramidNetwork(inChannelsList, outChannels, { extraBlocks: opts.extraBlocks ?? new LastLevelMaxPool(), norm: opts.norm });
    this.outChannels = outChannels;
  }

  override forward(x: Tensor): Features {
    return this.fpn.call(this.body.call(x));
  }
}

function checkTrainableLayers(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 5) throw new Error(`trainableLayers must be a whole number from 0 to 5 (5: the whole ResNet trains), got ${n}`);
}

function checkReturnedLayers(returned: number[] = [1, 2, 3, 4]): number[] {
  if (returned.length === 0 || returned.some((k) => !Number.isInteger(k) || k < 1 || k > 4)) {
    throw new Error(`returnedLayers must be ResNet stages from 1 to 4 (e.g. [2, 3, 4]), got [${returned.join(', ')}]`);
  }
  return returned;
}

/** The ResNet's top-level children in the order trainableLayers unfreezes them (torchvision's list). */
const TRAIN_ORDER = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'];

export interface ResnetFpnExtractorOptions extends BackboneWithFpnOptions {
  /** Which of layer1..layer4 feed the FPN; default [1, 2, 3, 4], named '0', '1', ... in order. */
  returnedLayers?: number[];
  /** Channels of every FPN level; default 256 (torchvision's fixed choice). */
  outChannels?: number;
}

/**
 * torchvision's _resnet_fpn_extractor: freezes all but the last `trainableLayers` (0-5) of
 * layer4, layer3, layer2, layer1, conv1 (5 also trains bn1), as torchvision counts them, and puts
 * an FPN with 256 channels on the returned layers. Frozen: requiresGrad false on the parameters
 * (a FrozenBatchNorm2d has none to freeze).
 */
export function resnetFpnExtractor(backbone: ResNet, trainableLayers: number, opts: ResnetFpnExtractorOptions = {}): BackboneWithFPN {
  checkTrainableLayers(trainableLayers);
  if (opts.outChannels !== undefined && !(Number.isInteger(opts.outChannels) && opts.outChannels > 0)) throw new Error(`outChannels must be a positive whole number (256 in torchvision), got ${opts.outChannels}`);
  const returned = checkReturnedLayers(opts.returnedLayers);
  const train = TRAIN_ORDER.slice(0, trainableLayers);
  if (trainableLayers === 5) train.push('bn1');
  // torchvision tests the name's prefix as a string ('layer1' would also match a 'layer10')
  for (const [name, p] of backbone.namedParameters()) if (!train.some((l) => name.startsWith(l))) p.requiresGrad_(false);

  const returnLayers = Object.fromEntries(returned.map((k, i) => [`layer${k}`, String(i)]));
  const inChannels = returned.map((k) => backbone.stageChannels[k - 1]);
  return new BackboneWithFPN(backbone, returnLayers, inChannels, opts.outChannels ?? 256, opts);
}

export interface ResnetFpnBackboneOptions extends ResnetFpnExtractorOptions {
  /** The ResNet's norm layer; default FrozenBatchNorm2d (torchvision's recommendation for detection). */
  resnetNorm?: NormFactory;
  /** Default 3. */
  trainableLayers?: number;
}

/** torchvision's resnet_fpn_backbone: a ResNet by name (random init) with an FPN. */
export function resnetFpnBackbone(name: ResNetName, opts: ResnetFpnBackboneOptions = {}): BackboneWithFPN {
  const { resnetNorm = frozenBatchNorm, trainableLayers = 3, ...rest } = opts;
  checkTrainableLayers(trainableLayers); // before building, so nothing is left to free
  checkReturnedLayers(rest.returnedLayers);
  return resnetFpnExtractor(resnet(name, { norm: resnetNorm }), trainableLayers, rest);
}

export interface MaskRcnnBackboneOptions {
  /**
   * Whether weights will be loaded (COCO, or an ImageNet backbone): torchvision's is_trained.
   * Trained: trainableLayers defaults to 3 and v1 freezes its BatchNorms (FrozenBatchNorm2d).
   * Untrained: everything trains (trainableLayers is 5 whatever is given, as in torchvision)
   * and v1 uses BatchNorm2d. Default true.
   */
  pretrained?: boolean;
  /** 0-5 (see resnetFpnExtractor); default 3. */
  trainableLayers?: number;
}

// torchvision's _validate_trainable_layers (it warns where this warns too)
function validTrainableLayers(pretrained: boolean, given: number | undefined): number {
  if (given !== undefined) checkTrainableLayers(given); // before building, so nothing is left to free
  if (pretrained) return given ?? 3;
  if (given !== undefined && given !== 5) {
    process.emitWarning(`trainableLayers ${given} has no effect without pretrained weights: every layer trains (trainableLayers 5), as in torchvision`);
  }
  return 5;
}

/** maskrcnn_resnet50_fpn's backbone (v1): ResNet-50 with FrozenBatchNorm2d when pretrained, FPN without norm. */
export function maskrcnnResnet50FpnBackbone(opts: MaskRcnnBackboneOptions = {}): BackboneWithFPN {
  const pretrained = opts.pretrained ?? true;
  const trainable = validTrainableLayers(pretrained, opts.trainableLayers);
  return resnetFpnExtractor(resnet('resnet50', { norm: pretrained ? frozenBatchNorm : batchNorm2d }), trainable);
}

/** maskrcnn_resnet50_fpn_v2's backbone: ResNet-50 with BatchNorm2d, FPN convs followed by BatchNorm2d. */
export function maskrcnnResnet50FpnV2Backbone(opts: MaskRcnnBackboneOptions = {}): BackboneWithFPN {
  const trainable = validTrainableLayers(opts.pretrained ?? true, opts.trainableLayers);
  return resnetFpnExtractor(resnet('resnet50'), trainable, { norm: batchNorm2d });
}
