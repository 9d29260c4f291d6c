// Training: the config schema, the Trainer and its plug points, checkpoints, logs, EMA.
export { trainConfigSchema, parseTrainConfig, loadTrainConfig, applyOverrides, configHelp, keysAt, type TrainConfig, type TrainConfigInput } from './config.js';
export { Trainer, NonFiniteError, type TrainerParts, type TrainerHooks, type FitResult } from './trainer.js';
export { defaultLoss, defaultEvaluator, flattenMetrics, type LossFn, type LossResult, type Evaluator, type TaskInfo } from './defaults.js';
export { writeCheckpoint, loadCheckpoint, latestCheckpoint, listCheckpoints, removeLeftovers, writeWeights, type TrainState } from './checkpoint.js';
export { JsonlLog, trainProgress, type LogRecord } from './logging.js';
export { ModelEma } from './ema.js';
export { buildData, buildModel, buildOptimizer, buildScheduler, totalSteps, stepsPerEpoch, prepareWeights, weightsByName } from './setup.js';
export { listPresets, loadPreset, presetConfigText, presetInfo, presetsDir, type PresetInfo } from './presets.js';
export { runTraining, type RunOptions } from './run.js';
