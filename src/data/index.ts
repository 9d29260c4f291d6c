// The data layer's public surface ('segkit/data'): datasets and their configs, label maps and
// mask encodings, layouts, splits, statistics, transforms, the loader, the doctor and previews.
// Internals (resamplers, batch assembly, worker messages) stay in their modules.
export type { ImageBuffer, MaskBuffer, Instance, SampleRef, Sample, Batch, BatchImage } from './types.js';

// Datasets and dataset configs
export { SegDataset, BadFileError, loadSample, type DatasetSpec, type MaskMode, type CocoRenderOptions } from './dataset.js';
export { openDataset, datasetConfigSchema, folderSource, csvSource, cocoSource, mergeSources, type DatasetConfig, type SourceConfig } from './sources/index.js';
export { detectLayout, type FolderSourceOptions } from './sources/folders.js';
export type { CsvSourceOptions } from './sources/csv.js';

// Label maps and what masks hold
export { LabelMap, labelMapSchema, parseLabelMap, vocPalette, VOC_BORDER, type LabelMapSpec, type RGB } from './labelmap.js';
export { resolveLabelMap, readLabelMapFile, LABEL_MAP_FILES, type ResolvedLabelMap } from './config-file.js';
export { scanMasks, detectEncoding, labelMapJson, VOC_CLASSES, type MaskScan, type Encoding, type EncodingKind } from './encodings.js';
export { planDataset, type DatasetPlan } from './init.js';

// Splits and leaks between them
export { randomSplit, orderedSplit, stratifiedSplit, parseRatios, describeSplit, readSplitCsv, writeSplitCsv, applySplit, type Split, type ClassPresence, type StratifiedSplit } from './splits.js';
export { groupedSplit, findSplitLeaks, type GroupBy, type SplitLeak } from './groups.js';

// Statistics
export { computeStats, formatStats, writeStatsJson, classWeights, type DatasetStats, type ClassWeights, type StatsOptions, type StatsResult, type SampleSource } from './stats.js';

// Transforms and loading
export { Compose, T, defineTransforms, trainPreset, evalPreset, parseTransformConfig, Rng, IMAGENET_MEAN, IMAGENET_STD } from './transforms/index.js';
export type { StepConfig, Step, StepName, StepOf, StepOptions, TransformConfig, ComposeOptions, PresetOptions } from './transforms/index.js';
export { DataLoader, SampleError, type DataLoaderOptions, type LoaderDataset, type LoaderState, type SkippedSample } from './loader.js';
export { batchToTensors, type BatchTensors } from './to-tensors.js';
export { detectionInputs, disposeDetectionInputs, type DetectionInputs, type DetectionInputOptions } from './detection-inputs.js';

// Looking at data
export { overlayMask, colorizeMask, type Palette, type OverlayOptions } from './overlay.js';
export { renderPreview, writePreview, type PreviewOptions, type PreviewResult } from './preview.js';
export { runDoctor, formatReport, doctorExitCode, offendingRefs, openInput, CHECKS, type DoctorReport, type DoctorOptions, type DoctorIssue, type CheckId, type OpenedInput, type InputOptions } from './doctor/index.js';

// The bundled shapes dataset
export { generateShapes, ensureShapes, shapesSource, SHAPE_CLASSES, SHAPES_LABEL_MAP, type ShapesOptions } from './bundled.js';
