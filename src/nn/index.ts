// segkit's nn: PyTorch-compatible modules. State-dict names, default initialisation and layer
// math match torch.nn (1.13), so PyTorch weights load as they are.
//
//   class Block extends nn.Module {
//     conv = new nn.Conv2d(64, 64, 3, { padding: 1, bias: false });  // registered as 'conv'
//     bn = new nn.BatchNorm2d(64);
//     forward(x: Tensor): Tensor { return tidy(() => F.relu(this.bn.forward(this.conv.forward(x)))); }
//   }
//
// A module owns its parameters and buffers: call dispose() when done with it.
export { Module, deviceOf, isModuleTensor, takeChild, observeModuleCalls, type StateDictInput, type LoadStateDictResult } from './module.js';
export { parameter, isParameter } from './parameter.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions, type PaddingMode } from './conv.js';
export { BatchNorm1d, BatchNorm2d, FrozenBatchNorm2d, GroupNorm, LayerNorm, type BatchNormOptions } from './norm.js';
export { Linear } from './linear.js';
export { ReLU, ReLU6, LeakyReLU, GELU, SiLU, Hardswish, Hardsigmoid, Sigmoid, Tanh, Softmax, LogSoftmax } from './activation.js';
export { Dropout, Dropout2d } from './dropout.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling.js';
export { Upsample, type UpsampleMode, type UpsampleOptions } from './upsample.js';
export { Identity, Flatten } from './misc.js';
export * as init from './init.js';
export { fuseConvBn } from './fuse.js';
export { Conv2dNormActivation, SqueezeExcitation, batchNorm, type Conv2dNormActivationOptions, type NormFactory, type ActivationFactory } from './blocks.js';
export { chooseLayout, prepareForInference, prepareForTraining, setLayout, toLayout, LAYOUTS, type Layout, type LayoutChoice, type ChooseLayoutOptions } from './layout.js';
export { cpuInfo, type CpuInfo } from './cpu.js';
