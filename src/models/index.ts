// Models, and the pretrained weights torchvision publishes for them: their descriptions
// (weights.ts) and the file for a weight name or path (resolve-weights.ts).
export { UNet, DoubleConv, type UNetOptions } from './unet.js';
export * from './weights.js';
export { resolveWeights, type ResolveWeightsOptions } from './resolve-weights.js';
