// segkit's models. Every semantic model's call(x) returns `{ out, aux? }`: logits at the input's
// size (see segmentation.ts). Build by reference name with create(), or with the typed builders;
// pretrained weights by torchvision's names (weights.ts) or by path (resolve-weights.ts).
import './zoo.js';

export { create, createAsync, weightsOf, listModels, modelEntry, register, type CreateOptions, type ModelEntry, type ModelKind, type ModelWeightsInfo } from './registry.js';
export { SimpleSegmentationModel, padToMultiple, resizeLogits, type SegmentationModel, type SegmentationOutput } from './segmentation.js';
export type { SegmentationBuilderOptions } from './options.js';
export { loadPretrained, describeLoad, type LoadReport, type SkippedKey, type LoadPretrainedOptions } from './pretrained.js';
export { freeze, unfreeze, paramGroups, replaceModule, selectParameters, matchesName, type NamePattern, type ParamGroupRule } from './adapt.js';
export { IntermediateLayerGetter, type Features } from './backbones/features.js';
export { ResNet, BasicBlock, Bottleneck, resnet, resnet18, resnet34, resnet50, resnet101, resnet152, type ResNetOptions, type ResNetName } from './backbones/resnet.js';
export { MobileNetV2, InvertedResidualV2, mobileNetV2, type MobileNetV2Options } from './backbones/mobilenetv2.js';
export { MobileNetV3, InvertedResidual, mobileNetV3Large, mobileNetV3LargeConfig, makeDivisible, type MobileNetV3Options } from './backbones/mobilenetv3.js';
export { FCN, FCNHead, fcnResNet50, fcnResNet101 } from './fcn.js';
export { DeepLabV3, DeepLabHead, ASPP, ASPPConv, ASPPPooling, deeplabv3ResNet50, deeplabv3ResNet101, deeplabv3MobileNetV3Large } from './deeplabv3.js';
export { LRASPP, LRASPPHead, lrasppMobileNetV3Large } from './lraspp.js';
export { UNet, DoubleConv, type UNetOptions } from './unet.js';
export * from './weights.js';
export { resolveWeights, type ResolveWeightsOptions } from './resolve-weights.js';
