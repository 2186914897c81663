import type { NodeId } from '../types.js';

/**
 * The outcome of a vote (or of any yes/no poll over a configuration, such as CheckQuorum's
 * "who was recently active"): `'won'` once a quorum said yes, `'lost'` once a quorum can no longer
 * say yes, `'pending'` otherwise.
 */
export type VoteResult = 'pending' | 'lost' | 'won';

/**
 * Looks up the index a member has acknowledged (for the commit rule: its match index; for
 * ReadIndex: the last read sequence it confirmed). `undefined` when the member has none; it then
 * counts as 0.
 */
export type AckedIndexer = (id: NodeId) => number | undefined;

/** Looks up a member's vote: true (granted), false (rejected) or undefined (not yet voted). */
export type VoteLookup = (id: NodeId) => boolean | undefined;
