/**
 * @fieldsync/client: a TypeScript client for fieldsync.
 *
 * - `workorder/`: the technician's operations on work-order documents and the status fold,
 *   writing exactly the events sync-core writes (vectors/workorder/ proves it);
 * - `protocol/`: the batched sync protocol v2 (CBOR, docs/PROTOCOL.md), pure;
 * - `Device`: store + auth + sync over `fetch`; `LiveEvents`: `GET /v1/events`;
 * - `MemoryStore`, `FileStore`: the device store.
 */
export * from "./workorder/index.js";
export * from "./protocol/wire.js";
export { encodeRequest, encodeResponse, decodeRequest, decodeResponse, DecodeError } from "./protocol/codec.js";
export { ClientSync, ClientError, DEFAULT_MAX_ROUNDS, type ClientDoc, type RoundReport, type SyncReport, type RemovedDoc, type RejectedDoc, type FailedDoc } from "./protocol/client.js";
export { assumePeerAt, peerAtMessage } from "./protocol/prime.js";
export { Auth, ApiError, NetworkError, type Session, type AuthOptions, type Fetch } from "./auth.js";
export { Device, type DeviceOptions, type DeviceSyncReport } from "./device.js";
export { LiveEvents, SseParser, backoffDelay, type ServerEvent, type LiveEventsOptions } from "./events.js";
export { uploadBlob, BlobHashMismatch, type BlobInfo } from "./blobs.js";
export { MemoryStore, FileStore, type DeviceStore, type StoredDoc } from "./store.js";
export { sha256, sha256Hex, toHex, fromHex } from "./sha256.js";
