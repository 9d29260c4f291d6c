export { UNet, DoubleConv, type UNetOptions } from './unet.js';
