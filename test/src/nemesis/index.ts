/**
 * `@flotilla/verification/nemesis`: nemesis schedules as data ({@link generateSchedule},
 * {@link leaderChurnSchedule}, {@link formatSchedule}) and their executor for the simulation
 * ({@link SimNemesis}). The real-process mode executes the same events its own way.
 *
 * @packageDocumentation
 */
export {
  describeEvent,
  FAULT_KINDS,
  type FaultKind,
  formatSchedule,
  generateSchedule,
  leaderChurnSchedule,
  type NemesisEvent,
  type NemesisSchedule,
  type PartitionShape,
  type ScheduleOptions,
  type Target,
} from './schedule.js';
export { type NemesisLogLine, SimNemesis, type SimNemesisOptions } from './sim-nemesis.js';
