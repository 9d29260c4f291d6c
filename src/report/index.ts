// Run reports: one self-contained HTML page per run.
export { chartData, renderRunReport, writeRunReport, type ClassTable, type RunReportData, type Series } from './html.js';
