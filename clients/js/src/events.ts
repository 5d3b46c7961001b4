/**
 * Live events: `GET /v1/events`, a server-sent-events stream for the device's access token.
 *
 * The server sends a data-free `sync` whenever something this device holds or should hold
 * changed, and, shortly before the access token expires, `refresh` and the end of the
 * stream. This client runs `onSync` (normally `device.sync()`), refreshes on `refresh` and
 * reconnects with the last event id (`Last-Event-ID`), so the server can tell whether it
 * missed something. After a failure it waits a random time up to an exponentially growing
 * bound (full jitter), so a server restart does not bring every device back at once.
 * A lost event costs nothing: the next sync brings everything.
 *
 * (The browser's `EventSource` cannot send an `Authorization` header; this reads the stream
 * with `fetch`, which works in Node and browsers alike.)
 */
import { ApiError, type Auth } from "./auth.js";
import type { DeviceStore } from "./store.js";

export interface ServerEvent {
  id: string | null;
  event: string;
  data: string;
}

/** Incremental parser of the `text/event-stream` format (WHATWG HTML, server-sent events). */
export class SseParser {
  private buffer = "";
  private id: string | null = null;
  private event = "";
  private data: string[] = [];
  /** The last `retry:` value, ms. */
  retry: number | null = null;

  /** Feeds a chunk; returns the events it completed. */
  push(chunk: string): ServerEvent[] {
    this.buffer += chunk;
    const out: ServerEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (m === null) break;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      if (line === "") {
        if (this.data.length > 0 || this.event !== "") {
          out.push({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
        }
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "event") this.event = value;
      else if (field === "id" && !value.includes("\0")) this.id = value;
      else if (field === "retry" && /^[0-9]+$/.test(value)) this.retry = Number(value);
    }
    return out;
  }

  /** The id of the last event seen (sent back as `Last-Event-ID`). */
  get lastId(): string | null {
    return this.id;
  }
}

export interface LiveEventsOptions {
  auth: Auth;
  /** Called for each `sync` event (and once after every reconnect the server marks as missed). */
  onSync: (e: ServerEvent) => void | Promise<void>;
  /** Where the last event id is kept across restarts (key `last_event_id`). */
  store?: DeviceStore;
  /** Called when the stream is (re)established. */
  onOpen?: () => void;
  /** Called with each failure before the wait (`waitMs` -1: a refusal, no more attempts). */
  onError?: (e: unknown, waitMs: number) => void;
  /** Backoff base (ms) until the server announces its own `retry:`; default 1000. */
  baseDelayMs?: number;
  /** Upper bound of a wait, ms; default 60 000. */
  maxDelayMs?: number;
  /** Random source in [0, 1), for the jitter. */
  random?: () => number;
}

const LAST_EVENT_ID = "last_event_id";

/** The wait before reconnect attempt `attempt` (1-based): full jitter over an exponential bound. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const bound = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * bound);
}

export class LiveEvents {
  private stopped = false;
  private abort: AbortController | null = null;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Connections made so far (for tests and status displays). */
  connections = 0;
  /** Why the stream stopped for good (a refusal), if it did. */
  failure: unknown = null;

  constructor(private readonly o: LiveEventsOptions) {}

  start(): void {
    if (this.running === null) this.running = this.loop();
  }

  /** Closes the stream and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.running?.catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    let base = this.o.baseDelayMs ?? 1000;
    const max = this.o.maxDelayMs ?? 60_000;
    const random = this.o.random ?? Math.random;
    while (!this.stopped) {
      try {
        const parser = new SseParser();
        const outcome = await this.connect(parser, () => {
          attempt = 0;
        });
        if (parser.retry !== null) base = parser.retry;
        if (outcome === "refresh") {
          await this.o.auth.refresh();
          continue;
        }
        // The stream ended without `refresh` (a server restart, a proxy): back off.
        attempt += 1;
      } catch (e) {
        if (this.stopped) break;
        // Refused for good (logged out, revoked, no device): retrying cannot help.
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          this.failure = e;
          this.o.onError?.(e, -1);
          break;
        }
        attempt += 1;
        const wait = backoffDelay(attempt, base, max, random);
        this.o.onError?.(e, wait);
        await this.sleep(wait);
        continue;
      }
      if (!this.stopped) await this.sleep(backoffDelay(attempt, base, max, random));
    }
  }

  private async connect(parser: SseParser, opened: () => void): Promise<"refresh" | "ended"> {
    const last = this.o.store === undefined ? null : await this.o.store.getMeta(LAST_EVENT_ID);
    this.abort = new AbortController();
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (last !== null) headers["last-event-id"] = last;
    const res = await this.o.auth.authed("/v1/events", { headers, signal: this.abort.signal });
    if (!res.ok) throw await ApiError.from(res);
    if (res.body === null) throw new ApiError(502, "no_stream", "the events response has no body");
    this.connections += 1;
    opened();
    this.o.onOpen?.();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "ended";
        for (const e of parser.push(value)) {
          if (e.id !== null && this.o.store !== undefined) await this.o.store.putMeta(LAST_EVENT_ID, e.id);
          if (e.event === "sync") await this.o.onSync(e);
          if (e.event === "refresh") return "refresh";
        }
      }
    } finally {
      reader.releaseLock();
      this.abort.abort();
    }
  }
}
