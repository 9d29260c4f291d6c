// segkit's models. Every semantic model's call(x) returns `{ out, aux? }`: logits at the input's
// size (see segmentation.ts). Build by reference name with create(), or with the typed builders;
// pretrained weights by torchvision's names (weights.ts) or by path (resolve-weights.ts).
import './zoo.js';

export { create, createAsync, weightsOf, listModels, modelEntry, register, type CreateOptions, type ModelEntry, type ModelKind, type ModelWeightsInfo } from './registry.js';
export { SimpleSegmentationModel, padToMultiple, resizeLogits, type SegmentationModel, type SegmentationOutput } from './segmentation.js';
export type { SegmentationBuilderOptions } from './options.js';
export { loadPretrained, describeLoad, type LoadReport, type SkippedKey, type LoadPretrainedOptions } from './pretrained.js';
export { freeze, unfreeze, paramGroups, replaceModule, convHead, replaceWithConvHead, type ConvHeadOptions, selectParameters, matchesName, type NamePattern, type ParamGroupRule } from './adapt.js';
export { IntermediateLayerGetter, type Features } from './backbones/features.js';
export { ResNet, BasicBlock, Bottleneck, resnet, resnet18, resnet34, resnet50, resnet101, resnet152, type ResNetOptions, type ResNetName } from './backbones/resnet.js';
export { MobileNetV2, InvertedResidualV2, mobileNetV2, type MobileNetV2Options } from './backbones/mobilenetv2.js';
export { MobileNetV3, InvertedResidual, mobileNetV3Large, mobileNetV3LargeConfig, makeDivisible, type MobileNetV3Options } from './backbones/mobilenetv3.js';
export { FCN, FCNHead, fcnResNet50, fcnResNet101 } from './fcn.js';
export { DeepLabV3, DeepLabHead, ASPP, ASPPConv, ASPPPooling, type AtrousBranch, deeplabv3ResNet50, deeplabv3ResNet101, deeplabv3MobileNetV3Large } from './deeplabv3.js';
export { LRASPP, LRASPPHead, lrasppMobileNetV3Large } from './lraspp.js';
export { UNet, DoubleConv, type UNetOptions } from './unet.js';
export { EncoderDecoderModel, SegmentationHead } from './smp/base.js';
export { ResNetEncoder, MobileNetV2Encoder, getEncoder, ENCODER_NAMES, type Encoder, type EncoderName, type EncoderOptions } from './smp/encoders.js';
export { Unet, UnetDecoder, UnetDecoderBlock, Conv2dReLU, unet, unetResNet18, unetResNet34, unetResNet50, type UnetOptions } from './smp/unet.js';
export {
  DeepLabV3Plus, DeepLabV3PlusDecoder, SeparableConv2d, ASPPSeparableConv, deeplabv3plus,
  deeplabv3plusResNet18, deeplabv3plusResNet34, deeplabv3plusResNet50, deeplabv3plusResNet101, deeplabv3plusMobileNetV2, type DeepLabV3PlusOptions,
} from './smp/deeplabv3plus.js';
export * from './weights.js';
export { resolveWeights, type ResolveWeightsOptions } from './resolve-weights.js';
export { FeaturePyramidNetwork, LastLevelMaxPool, ExtraFpnBlock, type FpnLevels, type FeaturePyramidNetworkOptions } from './detection/fpn.js';
export {
  BackboneWithFPN, resnetFpnExtractor, resnetFpnBackbone, maskrcnnResnet50FpnBackbone, maskrcnnResnet50FpnV2Backbone, frozenBatchNorm,
  type BackboneWithFpnOptions, type ResnetFpnExtractorOptions, type ResnetFpnBackboneOptions, type MaskRcnnBackboneOptions,
} from './detection/backbone-fpn.js';
export { AnchorGenerator, FPN_ANCHOR_SIZES, FPN_ASPECT_RATIOS } from './detection/anchors.js';
export { RPNHead, permuteAndFlatten, concatBoxPredictionLayers } from './detection/rpn-head.js';
export { RegionProposalNetwork, type RegionProposalNetworkOptions, type TopN, type Proposals, type RPNLosses, type RPNOutput } from './detection/rpn.js';
export { GeneralizedRCNNTransform, resizeBoxes, type GeneralizedRCNNTransformOptions, type ImageList } from './detection/transform.js';
export type { DetectionTarget, Detection, DetectionLosses } from './detection/types.js';
export { TwoMLPHead, FastRCNNConvFCHead, FastRCNNPredictor } from './detection/box-head.js';
export { MaskRCNNHeads, MaskRCNNPredictor } from './detection/mask-head.js';
export { RoIHeads, maskrcnnInference, type RoIHeadsOptions, type RoIHeadsParts } from './detection/roi-heads.js';
export { fastrcnnLoss, maskrcnnLoss, projectMasksOnBoxes } from './detection/roi-losses.js';
export { selectTrainingSamples, assignTargetsToProposals, type TrainingSamples } from './detection/roi-sampling.js';
export { GeneralizedRCNN, type DetectionBackbone } from './detection/generalized-rcnn.js';
export { MaskRCNN, maskrcnnResnet50Fpn, maskrcnnResnet50FpnV2, replaceMaskRcnnPredictors, type MaskRCNNOptions, type MaskRcnnBuilderOptions } from './detection/mask-rcnn.js';
