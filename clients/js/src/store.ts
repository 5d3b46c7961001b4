/**
 * Where a device keeps what must survive a restart: its session (tokens), each document with
 * its sync state, blobs not yet confirmed by the server, and small settings (the last event
 * id). Everything a sync round changed is written before the next round starts.
 *
 * Two implementations: {@link MemoryStore} (tests, short-lived tools) and
 * {@link FileStore} (Node: one directory, files replaced atomically by write-then-rename).
 *
 * In a browser, implement the same interface on IndexedDB: one database per device with the
 * object stores `docs` (key: document id; value: `{doc: Uint8Array, syncState: Uint8Array}`,
 * written in one transaction so a document never lands without its state), `blobs` (key:
 * SHA-256 hex; value: the bytes) and `meta` (key: string; value: string, holding the session
 * as JSON). Every method maps to one IndexedDB transaction; the interface is asynchronous for
 * that reason.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { fromHex, toHex } from "./sha256.js";

/** A stored document and the Automerge sync state with the server. */
export interface StoredDoc {
  doc: Uint8Array;
  /** `encodeSyncState` bytes; null when the document never synced. */
  syncState: Uint8Array | null;
}

export interface DeviceStore {
  listDocs(): Promise<string[]>;
  getDoc(id: string): Promise<StoredDoc | null>;
  /** Writes the document and its sync state together. */
  putDoc(id: string, value: StoredDoc): Promise<void>;
  deleteDoc(id: string): Promise<void>;
  /** Blobs (photos, signatures) kept until the server confirmed it stores them. */
  putBlob(hash: string, bytes: Uint8Array): Promise<void>;
  getBlob(hash: string): Promise<Uint8Array | null>;
  listBlobs(): Promise<string[]>;
  deleteBlob(hash: string): Promise<void>;
  getMeta(key: string): Promise<string | null>;
  /** `null` deletes the key. */
  putMeta(key: string, value: string | null): Promise<void>;
}

const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);

export class MemoryStore implements DeviceStore {
  private docs = new Map<string, StoredDoc>();
  private blobs = new Map<string, Uint8Array>();
  private meta = new Map<string, string>();

  async listDocs(): Promise<string[]> {
    return [...this.docs.keys()].sort();
  }
  async getDoc(id: string): Promise<StoredDoc | null> {
    const d = this.docs.get(id);
    return d === undefined ? null : { doc: copy(d.doc), syncState: d.syncState && copy(d.syncState) };
  }
  async putDoc(id: string, value: StoredDoc): Promise<void> {
    this.docs.set(id, { doc: copy(value.doc), syncState: value.syncState && copy(value.syncState) });
  }
  async deleteDoc(id: string): Promise<void> {
    this.docs.delete(id);
  }
  async putBlob(hash: string, bytes: Uint8Array): Promise<void> {
    this.blobs.set(hash, copy(bytes));
  }
  async getBlob(hash: string): Promise<Uint8Array | null> {
    const b = this.blobs.get(hash);
    return b === undefined ? null : copy(b);
  }
  async listBlobs(): Promise<string[]> {
    return [...this.blobs.keys()].sort();
  }
  async deleteBlob(hash: string): Promise<void> {
    this.blobs.delete(hash);
  }
  async getMeta(key: string): Promise<string | null> {
    return this.meta.get(key) ?? null;
  }
  async putMeta(key: string, value: string | null): Promise<void> {
    if (value === null) this.meta.delete(key);
    else this.meta.set(key, value);
  }
}

/** File names stay safe whatever the key: hex of its UTF-8 bytes. */
const fileName = (key: string): string => toHex(new TextEncoder().encode(key));
const keyOf = (name: string): string => new TextDecoder().decode(fromHex(name));

function isMissing(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: string }).code === "ENOENT";
}

/**
 * A directory per device: `docs/<hex id>` (a small header, then the sync state and the
 * document), `blobs/<hash>`, `meta/<hex key>`. Each write goes to a temporary file that is
 * renamed over the old one, so a crash leaves the old or the new version, never half.
 */
export class FileStore implements DeviceStore {
  constructor(readonly dir: string) {}

  private async write(sub: string, name: string, bytes: Uint8Array): Promise<void> {
    const dir = join(this.dir, sub);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    await writeFile(tmp, bytes, { flush: true });
    await rename(tmp, join(dir, name));
  }

  private async read(sub: string, name: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(join(this.dir, sub, name)));
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  private async list(sub: string): Promise<string[]> {
    try {
      return (await readdir(join(this.dir, sub))).filter((n) => !n.startsWith(".")).sort();
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }

  private async remove(sub: string, name: string): Promise<void> {
    await rm(join(this.dir, sub, name), { force: true });
  }

  async listDocs(): Promise<string[]> {
    return (await this.list("docs")).map(keyOf).sort();
  }
  async getDoc(id: string): Promise<StoredDoc | null> {
    const raw = await this.read("docs", fileName(id));
    if (raw === null) return null;
    // Layout: 4-byte big-endian length of the sync state (0xffffffff: none), the state, the doc.
    if (raw.length < 4) throw new Error(`stored document ${id} is truncated`);
    const len = new DataView(raw.buffer, raw.byteOffset).getUint32(0);
    if (len === 0xffff_ffff) return { doc: raw.subarray(4), syncState: null };
    if (raw.length < 4 + len) throw new Error(`stored document ${id} is truncated`);
    return { syncState: raw.subarray(4, 4 + len), doc: raw.subarray(4 + len) };
  }
  async putDoc(id: string, value: StoredDoc): Promise<void> {
    const state = value.syncState;
    const out = new Uint8Array(4 + (state?.length ?? 0) + value.doc.length);
    new DataView(out.buffer).setUint32(0, state === null ? 0xffff_ffff : state.length);
    if (state !== null) out.set(state, 4);
    out.set(value.doc, 4 + (state?.length ?? 0));
    await this.write("docs", fileName(id), out);
  }
  async deleteDoc(id: string): Promise<void> {
    await this.remove("docs", fileName(id));
  }
  async putBlob(hash: string, bytes: Uint8Array): Promise<void> {
    await this.write("blobs", fileName(hash), bytes);
  }
  async getBlob(hash: string): Promise<Uint8Array | null> {
    return this.read("blobs", fileName(hash));
  }
  async listBlobs(): Promise<string[]> {
    return (await this.list("blobs")).map(keyOf);
  }
  async deleteBlob(hash: string): Promise<void> {
    await this.remove("blobs", fileName(hash));
  }
  async getMeta(key: string): Promise<string | null> {
    const raw = await this.read("meta", fileName(key));
    return raw === null ? null : new TextDecoder().decode(raw);
  }
  async putMeta(key: string, value: string | null): Promise<void> {
    if (value === null) await this.remove("meta", fileName(key));
    else await this.write("meta", fileName(key), new TextEncoder().encode(value));
  }
}
