// Run reports: one self-contained HTML page per run.
export { chartData, renderRunReport, writeRunReport, type ClassTable, type RunReportData, type Series } from './html.js';
export { confusionPng, confusionSvg, confusionColor, confusionLayout, rowShares, EMPTY_ROW_COLOR, type ConfusionImageOptions, type ConfusionLayout } from './confusion-image.js';
