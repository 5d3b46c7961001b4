/**
 * Blob upload (`PUT /v1/blobs/{sha256}`): photos and signatures are addressed by the
 * SHA-256 of their bytes. The hash is checked here before sending (a corrupted local copy
 * is never uploaded under the wrong address) and the server checks it again on arrival
 * (`400 hash_mismatch`).
 */
import { ApiError, type Auth } from "./auth.js";
import { sha256Hex } from "./sha256.js";

export interface BlobInfo {
  hash: string;
  mime: string;
  width: number;
  height: number;
  size: number;
}

export class BlobHashMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`the bytes hash to ${actual}, not ${expected}; the local copy is damaged`);
    this.name = "BlobHashMismatch";
  }
}

/** Uploads `bytes` under `hash`; resolves once the server stores them (200 or 201). */
export async function uploadBlob(auth: Auth, hash: string, bytes: Uint8Array): Promise<BlobInfo> {
  const actual = sha256Hex(bytes);
  if (actual !== hash) throw new BlobHashMismatch(hash, actual);
  const res = await auth.authed(`/v1/blobs/${hash}`, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: bytes,
  });
  if (res.status !== 200 && res.status !== 201) throw await ApiError.from(res);
  const info = (await res.json()) as BlobInfo;
  if (info.hash !== hash) throw new ApiError(502, "hash_mismatch", `the server stored ${info.hash}, not ${hash}`);
  return info;
}
