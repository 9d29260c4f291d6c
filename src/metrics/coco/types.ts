// The COCO JSON shapes the evaluation reads and writes: a ground-truth instances file and a
// results file ([{image_id, category_id, bbox | segmentation, score}]), as cocodataset.org
// defines them, so files from and for other COCO tools work unchanged.
import type { CocoSegmentation } from '../../data/sources/rle.js';

export type { CocoSegmentation };

export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name?: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: number[]; // [x, y, w, h]
  area: number; // decides the small/medium/large range (pycocotools uses the field, not the mask)
  iscrowd?: number; // 1: a crowd region, matched by any number of detections and never counted
  segmentation?: CocoSegmentation;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

export interface CocoGroundTruth {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** A compressed RLE as COCO results carry it. */
export interface CocoRle {
  size: [number, number]; // [h, w]
  counts: string;
}

/** One detection in a COCO results file. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: number[]; // [x, y, w, h]
  segmentation?: CocoRle | CocoSegmentation;
}

export type IouType = 'bbox' | 'segm';
