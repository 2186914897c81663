/**
 * The external resource the lock protects: a small HTTP report store that lives OUTSIDE the
 * Flotilla cluster (think S3, a file server, a payment API). It knows nothing about locks or
 * leases. It only enforces one rule, and that rule is what makes the lock safe:
 *
 *   every write carries a fencing token; a write whose token is smaller than the largest token
 *   this store has already accepted (for that report) is refused with 409 Conflict.
 *
 * Tokens come from the lock: the lock key's create revision in the store, which grows with every
 * new holder. So a holder that lost the lock without knowing it (it was paused, its lease
 * expired, someone else got the lock) still carries its old, smaller token, and its late writes
 * bounce here no matter how late they arrive.
 *
 *   PUT /reports/NAME   header `fencing-token: N`, body = the report  → 200 | 409 | 400
 *   GET /reports/NAME                                                  → 200 body | 404
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** One write the store accepted. */
export interface AcceptedWrite {
  readonly name: string;
  readonly token: number;
  readonly body: string;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The fenced report store (see the module notes). */
export class ReportStore {
  readonly accepted: AcceptedWrite[] = [];
  readonly refused: AcceptedWrite[] = [];
  readonly #reports = new Map<string, { token: number; body: string }>();
  #server: Server | undefined;

  /** Starts listening on 127.0.0.1 (a free port); resolves with the base URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.#handle(req).then(([status, text]) => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(text);
      });
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const a = server.address();
    return `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
  }

  async #handle(req: IncomingMessage): Promise<[number, string]> {
    const name = /^\/reports\/([\w.-]+)$/.exec(req.url ?? '')?.[1];
    if (name === undefined) return [404, 'no such path\n'];
    if (req.method === 'GET') {
      const r = this.#reports.get(name);
      return r === undefined ? [404, 'no such report\n'] : [200, r.body];
    }
    if (req.method !== 'PUT') return [405, 'use GET or PUT\n'];
    const token = Number(req.headers['fencing-token']);
    if (!Number.isSafeInteger(token) || token <= 0) return [400, 'a fencing-token header is required\n'];
    const text = await body(req);
    const current = this.#reports.get(name);
    // THE check. Not "is the writer holding the lock?" (the store cannot know, and the writer
    // cannot know reliably either): "has anyone with a newer token written already?"
    if (current !== undefined && token < current.token) {
      this.refused.push({ name, token, body: text });
      return [409, `stale fencing token ${token}: ${current.token} already wrote this report\n`];
    }
    this.#reports.set(name, { token, body: text });
    this.accepted.push({ name, token, body: text });
    return [200, 'stored\n'];
  }

  /** The current content of a report. */
  report(name: string): string | undefined {
    return this.#reports.get(name)?.body;
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** A write to the store (what a worker does): resolves with the HTTP status and reply. */
export async function writeReport(
  storeUrl: string,
  name: string,
  token: number,
  text: string,
): Promise<{ status: number; reply: string }> {
  const r = await fetch(`${storeUrl}/reports/${name}`, {
    method: 'PUT',
    headers: { 'fencing-token': String(token) },
    body: text,
  });
  return { status: r.status, reply: (await r.text()).trim() };
}
