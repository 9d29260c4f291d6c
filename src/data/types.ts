// Plain-array data types shared by the data layer. Nothing here touches tensors: the loader
// delivers these, and the torch layer turns batches into NCHW float32 / int64 tensors.

/** Interleaved (HWC) 8-bit image, as sharp decodes it. */
export interface ImageBuffer {
  data: Uint8Array; // (H, W, C) row-major
  width: number;
  height: number;
  channels: number; // 1, 3 or 4
}

/** Single-channel label map: train ids (or raw values before mapping). */
export interface MaskBuffer {
  data: Uint8Array | Uint16Array; // (H, W) row-major
  width: number;
  height: number;
}

/** One object of an instance-segmentation target. */
export interface Instance {
  label: number; // contiguous train id
  box: [number, number, number, number]; // x1, y1, x2, y2 in pixels
  mask?: Uint8Array; // (H, W), 0/1, same size as the image
  iscrowd?: boolean;
  area?: number;
}

/** Where a sample comes from, so every error can name the files. */
export interface SampleRef {
  id: string;
  imagePath: string;
  maskPath?: string;
  /** Free extra columns (from CSV indexes) or source tags. */
  meta?: Record<string, string>;
}

/** A decoded sample: image plus semantic mask and/or instances. */
export interface Sample {
  ref: SampleRef;
  image: ImageBuffer;
  mask?: MaskBuffer;
  instances?: Instance[];
}

/** One image of an image-list batch, at its own size. */
export interface BatchImage {
  image: Float32Array; // (C, H, W)
  mask?: Int32Array; // (H, W)
  shape: [number, number, number]; // C, H, W
}

/**
 * A batch ready to become tensors: images NCHW float32, masks N,H,W int64-compatible. A batch of
 * a loader with `imageList: true` (detection) has each image at its own size in `list`; its
 * `images` is then empty and `shape` is [N, C, 0, 0].
 */
export interface Batch {
  images: Float32Array; // (N, C, H, W)
  masks?: Int32Array; // (N, H, W): train ids, ignore index kept as is
  shape: [number, number, number, number]; // N, C, H, W
  refs: SampleRef[];
  instances?: Instance[][];
  list?: BatchImage[];
}
