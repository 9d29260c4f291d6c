// The models segkit ships, registered under their reference names (see registry.ts).
import { register } from './registry.js';
import { RESNET_NAMES, resnet } from './backbones/resnet.js';
import { mobileNetV2 } from './backbones/mobilenetv2.js';
import { mobileNetV3Large } from './backbones/mobilenetv3.js';
import { fcnResNet50, fcnResNet101 } from './fcn.js';
import { deeplabv3MobileNetV3Large, deeplabv3ResNet50, deeplabv3ResNet101 } from './deeplabv3.js';
import { lrasppMobileNetV3Large } from './lraspp.js';
import { UNet, type UNetOptions } from './unet.js';
import { unet } from './smp/unet.js';
import { deeplabv3plus } from './smp/deeplabv3plus.js';
import type { EncoderName } from './smp/encoders.js';
import type { CreateOptions } from './registry.js';
import { maskrcnnResnetFpn, type MaskRcnnResnetOptions } from './detection/mask-rcnn-resnet.js';
import { MASK_RCNN_OPTIONS, maskrcnnResnet50Fpn, maskrcnnResnet50FpnV2, useCocoV1Eps, type MaskRcnnBuilderOptions } from './detection/mask-rcnn.js';

const tv = 'torchvision';

for (const name of RESNET_NAMES) {
  register({ name, kind: 'classification', reference: tv, description: `${name} ImageNet classifier (a backbone's weights)`, build: (o) => resnet(name, o) });
}
register({ name: 'mobilenet_v2', kind: 'classification', reference: tv, description: 'MobileNetV2 ImageNet classifier', build: (o) => mobileNetV2(o) });
register({ name: 'mobilenet_v3_large', kind: 'classification', reference: tv, description: 'MobileNetV3-Large ImageNet classifier', build: (o) => mobileNetV3Large(o) });

const resnetBackbone = (name: string) => ({ backbone: 'backbone', backboneName: name });
const mobilenetBackbone = { backbone: 'backbone', backboneName: 'mobilenet_v3_large', backbonePrefix: 'features.' };

register({ name: 'fcn_resnet50', kind: 'semantic', reference: tv, description: 'FCN, ResNet-50 backbone (output stride 8)', build: fcnResNet50, ...resnetBackbone('resnet50') });
register({ name: 'fcn_resnet101', kind: 'semantic', reference: tv, description: 'FCN, ResNet-101 backbone (output stride 8)', build: fcnResNet101, ...resnetBackbone('resnet101') });
register({ name: 'deeplabv3_resnet50', kind: 'semantic', reference: tv, description: 'DeepLabv3, ResNet-50 backbone (output stride 8)', build: deeplabv3ResNet50, ...resnetBackbone('resnet50') });
register({ name: 'deeplabv3_resnet101', kind: 'semantic', reference: tv, description: 'DeepLabv3, ResNet-101 backbone (output stride 8)', build: deeplabv3ResNet101, ...resnetBackbone('resnet101') });
register({ name: 'deeplabv3_mobilenet_v3_large', kind: 'semantic', reference: tv, description: 'DeepLabv3, MobileNetV3-Large backbone (output stride 16)', build: deeplabv3MobileNetV3Large, ...mobilenetBackbone });
register({ name: 'lraspp_mobilenet_v3_large', kind: 'semantic', reference: tv, description: 'Lite R-ASPP, MobileNetV3-Large backbone', build: lrasppMobileNetV3Large, ...mobilenetBackbone });

register({
  name: 'unet',
  kind: 'semantic',
  reference: 'segkit',
  description: 'UNet (Ronneberger et al.): 3x3 double convs, transposed-conv or bilinear upsampling, BatchNorm on or off',
  build: (o) => new UNet(o as UNetOptions),
  extraOptions: ['baseWidth', 'depth', 'upsampling', 'batchNorm'],
});

// segmentation_models_pytorch 0.5: smp's keys; weightsBackbone loads torchvision's ImageNet
// classifier into `encoder` (its keys are the classifier's less fc / classifier).
const smpOptions = (name: string, o: CreateOptions): CreateOptions => {
  if (o.auxLoss) throw new Error(`${name}: smp's models have no auxiliary segmentation head (auxLoss); leave it out`);
  const { auxLoss: _aux, weights: _w, weightsBackbone: _wb, onLoad: _l, ...rest } = o;
  return rest;
};
const encoderLabel = (e: EncoderName): string => (e === 'mobilenet_v2' ? 'MobileNetV2' : `ResNet-${e.slice(6)}`);
for (const e of ['resnet18', 'resnet34', 'resnet50'] as const) {
  const name = `unet_${e}`;
  register({
    name, kind: 'semantic', reference: 'smp', description: `U-Net (smp.Unet), ${encoderLabel(e)} encoder`,
    build: (o) => unet(e, smpOptions(name, o)), backbone: 'encoder', backboneName: e, extraOptions: ['decoderChannels'],
  });
}
for (const e of ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'mobilenet_v2'] as const) {
  const name = `deeplabv3plus_${e}`;
  register({
    name, kind: 'semantic', reference: 'smp', description: `DeepLabV3+ (smp.DeepLabV3Plus), ${encoderLabel(e)} encoder (output stride 16)`,
    build: (o) => deeplabv3plus(e, smpOptions(name, o)), backbone: 'encoder', backboneName: e, extraOptions: ['encoderOutputStride', 'decoderAtrousRates'],
  });
}

// Mask R-CNN: `pretrained` (torchvision's is_trained: FrozenBatchNorm2d in v1, 3 trainable stages)
// follows whether weights or weightsBackbone are given, unless set
function maskRcnnOptions(o: CreateOptions): MaskRcnnBuilderOptions {
  const { weights, weightsBackbone, onLoad: _, ...rest } = o;
  return { ...rest, pretrained: (rest.pretrained as boolean | undefined) ?? (weights !== undefined || weightsBackbone !== undefined) };
}
const maskRcnn = { kind: 'instance' as const, reference: tv, backbone: 'backbone.body', backboneName: 'resnet50', extraOptions: MASK_RCNN_OPTIONS };
register({ name: 'maskrcnn_resnet50_fpn', ...maskRcnn, description: 'Mask R-CNN, ResNet-50-FPN backbone (instance segmentation)', build: (o) => maskrcnnResnet50Fpn(maskRcnnOptions(o)), afterLoad: useCocoV1Eps });
register({ name: 'maskrcnn_resnet50_fpn_v2', ...maskRcnn, description: 'Mask R-CNN v2 (Li et al. 2021 recipe), ResNet-50-FPN backbone with BatchNorm heads (instance segmentation)', build: (o) => maskrcnnResnet50FpnV2(maskRcnnOptions(o)) });
// segkit's smaller Mask R-CNN: torchvision's parts with a chosen ResNet and narrower FPN and heads
const RESNET_FPN_OPTIONS = ['backbone', 'fpnChannels', 'boxHeadSize', 'maskHeadChannels', 'maskHeadLayers', 'anchorSizes', ...MASK_RCNN_OPTIONS.filter((k) => !['rpnAnchorGenerator', 'boxHead', 'boxPredictor', 'maskHead', 'maskPredictor'].includes(k))];
register({
  name: 'maskrcnn_resnet_fpn', kind: 'instance', reference: 'segkit', description: 'Mask R-CNN of torchvision\'s parts on a chosen ResNet (default resnet18) with narrower FPN and heads, for small data and CPUs',
  build: (o) => maskrcnnResnetFpn(maskRcnnOptions(o) as MaskRcnnResnetOptions), extraOptions: RESNET_FPN_OPTIONS,
});
