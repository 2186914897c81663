import { describeChanges } from './confchange/changer.js';
import { decodeConfChange } from './confchange/codec.js';
import { type RawNode, raftOf } from './rawnode.js';
import { describeTrackerConfig } from './tracker/tracker.js';
import type { ConfState, Entry, HardState, Message, Ready, Snapshot, SoftState } from './types.js';

/**
 * One-line, deterministic descriptions of Raft data, in the spirit of etcd's Describe*
 * functions: for logs, test failure messages and golden-output scenario files. The formats are
 * meant for humans; they may gain detail over time.
 */

/** Payload as a quoted string when printable ASCII, else as hex; long payloads are cut at 64 bytes. */
export function describeData(data: Uint8Array): string {
  if (data.length > 64) return `${describeData(data.subarray(0, 64))}…(${data.length} bytes)`;
  let printable = true;
  for (let i = 0; i < data.length; i++) {
    const b = data[i] as number;
    if (b < 0x20 || b > 0x7e) {
      printable = false;
      break;
    }
  }
  if (printable) return JSON.stringify(String.fromCharCode(...data));
  return `0x${Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** `1/5 normal "x"` or `1/2 confChange addNode(3)`: term/index, type and payload. */
export function describeEntry(e: Entry): string {
  if (e.type === 'confChange') {
    let what: string;
    try {
      const cc = decodeConfChange(e.data);
      what = cc.changes.length === 0 ? 'leaveJoint' : describeChanges(cc.changes);
      if (cc.transition !== undefined && cc.changes.length > 0) what += ` (${cc.transition})`;
    } catch {
      what = `<undecodable ${describeData(e.data)}>`;
    }
    return `${e.term}/${e.index} confChange ${what}`;
  }
  return e.data.length === 0
    ? `${e.term}/${e.index} normal`
    : `${e.term}/${e.index} normal ${describeData(e.data)}`;
}

/** `term=2 vote=1 commit=5`. */
export function describeHardState(hs: HardState): string {
  return `term=${hs.term} vote=${hs.vote} commit=${hs.commit}`;
}

/** `lead=1 state=leader`. */
export function describeSoftState(ss: SoftState): string {
  return `lead=${ss.lead} state=${ss.raftState}`;
}

/** `voters=(1 2 3)&&(1 2) learners=(4) learners_next=(3) autoleave` (empty parts omitted). */
export function describeConfState(cs: ConfState): string {
  let s = `voters=(${cs.voters.join(' ')})`;
  if (cs.votersOutgoing.length > 0) s += `&&(${cs.votersOutgoing.join(' ')})`;
  if (cs.learners.length > 0) s += ` learners=(${cs.learners.join(' ')})`;
  if (cs.learnersNext.length > 0) s += ` learners_next=(${cs.learnersNext.join(' ')})`;
  if (cs.autoLeave) s += ' autoleave';
  return s;
}

/** `index=5 term=2 voters=(1 2 3)`: where the snapshot sits and its configuration. */
export function describeSnapshot(s: Snapshot): string {
  const m = s.metadata;
  return `index=${m.index} term=${m.term} ${describeConfState(m.confState)}`;
}

/** `1->2 app term=1 prev=(5,1) commit=5 entries=[1/6 normal "x"]`, and so on per type. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'app':
      return `${head} prev=(${m.index},${m.logTerm}) commit=${m.commit}${m.entries.length > 0 ? ` entries=[${m.entries.map(describeEntry).join(', ')}]` : ''}`;
    case 'appResp':
      return m.reject
        ? `${head} rejected index=${m.index} hint=(${m.rejectHint},${m.logTerm})`
        : `${head} index=${m.index}`;
    case 'vote':
    case 'preVote':
      return `${head} last=(${m.index},${m.logTerm})${m.transfer ? ' transfer' : ''}`;
    case 'voteResp':
    case 'preVoteResp':
      return `${head}${m.reject ? ' rejected' : ''}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}${m.readSeq > 0 ? ` readSeq=${m.readSeq}` : ''}`;
    case 'heartbeatResp':
      return `${head}${m.readSeq > 0 ? ` readSeq=${m.readSeq}` : ''}`;
    case 'snap':
      return `${head} snapshot=(${describeSnapshot(m.snapshot)})`;
    case 'prop':
      return `${head} entries=[${m.entries.map(describeEntry).join(', ')}]`;
    case 'readIndex':
      return `${head} ctx=${describeData(m.context)}`;
    case 'readIndexResp':
      return `${head} index=${m.index} ctx=${describeData(m.context)}`;
    case 'transferLeader':
      return `${head} transferee=${m.transferee}`;
    case 'hup':
      return `${head}${m.transfer ? ' transfer' : ''}`;
    case 'snapStatus':
      return `${head}${m.reject ? ' rejected' : ''}`;
    default:
      return head;
  }
}

/** A multi-line description of a Ready (empty parts omitted). */
export function describeReady(rd: Ready): string {
  const lines: string[] = [];
  if (rd.softState !== undefined) lines.push(`softState: ${describeSoftState(rd.softState)}`);
  if (rd.hardState !== undefined) lines.push(`hardState: ${describeHardState(rd.hardState)}`);
  if (rd.entries.length > 0) lines.push('entries:', ...rd.entries.map((e) => `  ${describeEntry(e)}`));
  if (rd.snapshot !== undefined) lines.push(`snapshot: ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) {
    lines.push('committedEntries:', ...rd.committedEntries.map((e) => `  ${describeEntry(e)}`));
  }
  if (rd.messages.length > 0) lines.push('messages:', ...rd.messages.map((m) => `  ${describeMessage(m)}`));
  if (rd.readStates.length > 0) {
    lines.push(
      'readStates:',
      ...rd.readStates.map((s) => `  index=${s.index} ctx=${describeData(s.requestCtx)}`),
    );
  }
  if (rd.mustSync) lines.push('mustSync');
  return lines.join('\n');
}

/**
 * The internal state of a node, for tests and scenario files: role, term, log positions,
 * configuration, and on the leader each member's full progress (state, match/next, inflight
 * window, paused). Not part of the stable API.
 */
export function describeNode(rn: RawNode): string {
  const r = raftOf(rn);
  const log = r.raftLog;
  const lines = [
    `${r.id} ${r.state} term=${r.term} vote=${r.vote} lead=${r.lead}`,
    `log: first=${log.firstIndex()} last=${log.lastIndex()} committed=${log.committed} applying=${log.applying} applied=${log.applied} unstable=${log.unstable.offset}+${log.unstable.length}`,
    `config: ${describeTrackerConfig(r.trk.config)}`,
  ];
  if (r.leadTransferee !== 0) lines.push(`leadTransferee: ${r.leadTransferee}`);
  if (r.state === 'leader') {
    for (const id of r.trk.ids) lines.push(`  ${id}: ${r.trk.progress.get(id)}`);
  }
  return lines.join('\n');
}
