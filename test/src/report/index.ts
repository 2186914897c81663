/**
 * `@flotilla/verification/report`: the summary tables a run series ends with
 * ({@link formatAggregateTable}, {@link formatRunTable}) and the files a run leaves
 * ({@link writeRunArtifacts}), shared by the simulation and the real-process mode.
 *
 * @packageDocumentation
 */
export { DEFAULT_OUT_DIR, type RunArtifacts, writeRunArtifacts } from './artifacts.js';
export { formatAggregateTable, formatRunTable, type SummaryRow, textTable } from './summary.js';
