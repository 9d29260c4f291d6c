// What smp's architectures share (smp's base/: SegmentationModel, SegmentationHead and the
// initialisation): an encoder gives the maps of every stride, a decoder fuses them, and a head
// maps the decoder's output to class logits at the input's size. segkit returns `{ out }`.
import { Tensor } from '../../torch/index.js';
import { BatchNorm2d, Conv2d, Identity, Module, Sequential, Upsample, init } from '../../nn/index.js';
import { padToMultiple, type SegmentationModel, type SegmentationOutput } from '../segmentation.js';
import type { Encoder } from './encoders.js';

/** Conv to the classes, then bilinear upsampling (align_corners true) by `upsampling` when above 1. */
export class SegmentationHead extends Sequential {
  constructor(inChannels: number, numClasses: number, kernelSize = 3, upsampling = 1) {
    super(
      new Conv2d(inChannels, numClasses, kernelSize, { padding: Math.floor(kernelSize / 2) }),
      upsampling > 1 ? new Upsample({ scaleFactor: upsampling, mode: 'bilinear', alignCorners: true }) : new Identity(),
      new Identity(), // smp's activation slot (logits here: none)
    );
  }
}

/**
 * smp's SegmentationModel: `head(decoder(encoder(x)))`. A model whose decoder needs the input's
 * sides to be a multiple (`inputMultiple`) gets its input padded (zeros, right and bottom) and
 * the logits cropped back, where smp raises an error.
 */
export class EncoderDecoderModel extends Module implements SegmentationModel {
  declare encoder: Encoder;
  declare decoder: Module;
  declare segmentation_head: SegmentationHead;
  readonly numClasses: number;
  readonly inputMultiple: number;

  constructor(encoder: Encoder, decoder: Module, head: SegmentationHead, numClasses: number, inputMultiple = 1) {
    super();
    this.encoder = encoder;
    this.decoder = decoder;
    this.segmentation_head = head;
    this.numClasses = numClasses;
    this.inputMultiple = inputMultiple;
    initializeDecoder(decoder);
    initializeHead(head);
  }

  override forward(x: Tensor): SegmentationOutput {
    return padToMultiple(x, this.inputMultiple, (input) => {
      const features: Tensor[] = this.encoder.call(input);
      return { out: this.segmentation_head.call(this.decoder.call(features)) };
    });
  }
}

// smp's initialize_decoder: convs kaiming-uniform (fan in, ReLU gain) with zero bias, norms 1 and 0.
function initializeDecoder(decoder: Module): void {
  for (const m of decoder.modules()) {
    if (m instanceof Conv2d) {
      init.kaimingUniform_(m.weight, { mode: 'fan_in', nonlinearity: 'relu' });
      if (m.bias) init.zeros_(m.bias);
    } else if (m instanceof BatchNorm2d) {
      init.ones_(m.weight!);
      init.zeros_(m.bias!);
    }
  }
}

// smp's initialize_head: xavier-uniform weights, zero bias.
function initializeHead(head: Module): void {
  for (const m of head.modules()) {
    if (m instanceof Conv2d) {
      init.xavierUniform_(m.weight);
      if (m.bias) init.zeros_(m.bias);
    }
  }
}
