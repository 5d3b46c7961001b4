/**
 * A device: its store, its login, and the batched sync over `fetch` (`POST /v1/sync`, CBOR).
 *
 * ```ts
 * const device = new Device({ baseUrl, device: "phone-7", store: new FileStore(dir) });
 * await device.auth.login("tech-7", password, "phone-7");
 * await device.sync();                                   // jobs arrive
 * await device.update("WO-1", (wo) => wo.accept(me, Date.now()));
 * await device.sync();                                   // the acceptance reaches the server
 * ```
 *
 * Every round's results (documents and their sync states) are written to the store before
 * the next round, so a crash or a lost response costs a resend, never data. A document the
 * server says this device may no longer see is deleted only when the server confirmed it
 * holds every change of this copy; otherwise it is kept and offered again.
 */
import * as A from "@automerge/automerge";

import { ApiError, Auth, type Fetch } from "./auth.js";
import { uploadBlob } from "./blobs.js";
import { ClientSync, type ClientDoc, type RemovedDoc, type SyncReport } from "./protocol/client.js";
import { decodeResponse, encodeRequest } from "./protocol/codec.js";
import { CONTENT_TYPE } from "./protocol/wire.js";
import { sha256Hex } from "./sha256.js";
import type { DeviceStore } from "./store.js";
import { actorIdFor } from "./workorder/document.js";
import { WorkOrder } from "./workorder/ops.js";

export interface DeviceOptions {
  baseUrl: string;
  /** This device's id (also its Automerge actor, derived as sync-core derives it). */
  device: string;
  store: DeviceStore;
  fetch?: Fetch;
  now?: () => number;
}

export interface DeviceSyncReport extends SyncReport {
  /** Removed by the server but kept here: the server did not confirm it holds this copy. */
  kept: RemovedDoc[];
  /** Removed by the server and deleted here. */
  deleted: string[];
}

export class Device {
  readonly auth: Auth;
  readonly id: string;
  readonly store: DeviceStore;
  private readonly actor: string;
  private syncing: Promise<DeviceSyncReport> | null = null;

  constructor(o: DeviceOptions) {
    this.id = o.device;
    this.store = o.store;
    this.actor = actorIdFor(o.device);
    this.auth = new Auth({ baseUrl: o.baseUrl, store: o.store, fetch: o.fetch, now: o.now });
  }

  async workOrderIds(): Promise<string[]> {
    return this.store.listDocs();
  }

  async workOrder(id: string): Promise<WorkOrder | null> {
    const stored = await this.store.getDoc(id);
    return stored === null ? null : WorkOrder.load(stored.doc, this.id);
  }

  /** Loads a work order, runs `op` on it and stores the result with its unchanged sync state. */
  async update<T>(id: string, op: (wo: WorkOrder) => T): Promise<T> {
    const stored = await this.store.getDoc(id);
    if (stored === null) throw new ApiError(404, "not_found", `work order ${id} is not on this device`);
    const wo = WorkOrder.load(stored.doc, this.id);
    const result = op(wo);
    await this.store.putDoc(id, { doc: wo.save(), syncState: stored.syncState });
    return result;
  }

  /** Runs one sync session (concurrent calls share it). */
  sync(): Promise<DeviceSyncReport> {
    if (this.syncing === null) {
      this.syncing = this.runSync().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  private async loadDocs(): Promise<ClientDoc[]> {
    const docs: ClientDoc[] = [];
    for (const id of await this.store.listDocs()) {
      const s = await this.store.getDoc(id);
      if (s === null) continue;
      docs.push({
        id,
        doc: A.load(s.doc, { actor: this.actor }),
        state: s.syncState === null ? A.initSyncState() : A.decodeSyncState(s.syncState),
      });
    }
    return docs;
  }

  private async persist(d: ClientDoc): Promise<void> {
    await this.store.putDoc(d.id, { doc: A.save(d.doc), syncState: A.encodeSyncState(d.state) });
  }

  private async post(body: Uint8Array): Promise<Uint8Array> {
    const res = await this.auth.authed("/v1/sync", {
      method: "POST",
      headers: { "content-type": CONTENT_TYPE, accept: CONTENT_TYPE },
      body,
    });
    if (!res.ok) throw await ApiError.from(res);
    return new Uint8Array(await res.arrayBuffer());
  }

  private async runSync(): Promise<DeviceSyncReport> {
    const docs = await this.loadDocs();
    const session = new ClientSync(this.actor);
    const kept: RemovedDoc[] = [];
    const deleted: string[] = [];
    for (;;) {
      const request = session.buildRequest(docs);
      if (request === null) break;
      const offered = new Set(request.docs.map((o) => o.docId));
      const response = decodeResponse(await this.post(encodeRequest(request)));
      const round = session.applyResponse(docs, response);
      for (const d of docs) if (offered.has(d.id)) await this.persist(d);
      for (const d of round.added) {
        await this.persist(d);
        docs.push(d);
      }
      for (const r of round.removed) {
        if (r.hadUnsyncedChanges) {
          kept.push(r);
          continue;
        }
        await this.store.deleteDoc(r.docId);
        deleted.push(r.docId);
        const i = docs.findIndex((d) => d.id === r.docId);
        if (i >= 0) docs.splice(i, 1);
      }
    }
    return { ...session.report, kept, deleted };
  }

  /**
   * Keeps a blob (photo, signature) on the device and uploads it under its SHA-256; the local
   * copy is dropped once the server answered that it stores bytes with that hash.
   */
  async addBlob(bytes: Uint8Array): Promise<string> {
    const hash = sha256Hex(bytes);
    await this.store.putBlob(hash, bytes);
    return hash;
  }

  /** Uploads every blob the server has not confirmed yet; returns the hashes it confirmed. */
  async uploadPendingBlobs(): Promise<string[]> {
    const done: string[] = [];
    for (const hash of await this.store.listBlobs()) {
      const bytes = await this.store.getBlob(hash);
      if (bytes === null) continue;
      await uploadBlob(this.auth, hash, bytes);
      await this.store.deleteBlob(hash);
      done.push(hash);
    }
    return done;
  }
}
