// Detection building blocks with torchvision's names and numerics (camelCase): box utilities,
// BoxCoder, NMS, RoIAlign (with its backward through autograd), the FPN level mapper, and the
// Matcher and fg/bg sampler that R-CNN training assigns and samples anchors and proposals with.
export { boxArea, boxIou, generalizedBoxIou, clipBoxesToImage, removeSmallBoxes, boxConvert, type BoxFormat } from './boxes.js';
export { BoxCoder, BBOX_XFORM_CLIP } from './box-coder.js';
export { nms, batchedNms } from './nms.js';
export { roiAlign, convertBoxesToRoiFormat, type RoIAlignOptions } from './roi-align.js';
export { LevelMapper, inferScale, setupScales, type LevelMapperOptions } from './level-mapper.js';
export { MultiScaleRoIAlign, type MultiScaleRoIAlignOptions } from './multi-scale-roi-align.js';
export { Matcher } from './matcher.js';
export { BalancedPositiveNegativeSampler } from './sampler.js';
export { pasteMasksInImage, pasteMaskInImage, expandBoxes, expandMasks } from './paste-masks.js';
