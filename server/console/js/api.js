// The console's only door to the server. The session rides in HttpOnly cookies that this code
// never sees; it keeps the CSRF token the session endpoints return and sends it with every
// change. An expired access token is refreshed once and the request retried; when that fails
// the session is over and the login view comes back.

/** A refusal from the server: `status`, the JSON body's `code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

let session = null; // { user, csrf, access_expires_at }
let refreshing = null; // the refresh in flight, shared by every caller
let refreshTimer = null;
const sessionListeners = new Set();

/** The logged-in user (`{ id, name, role, regions }`) or null. */
export function currentUser() {
  return session?.user ?? null;
}

/** Calls `fn(user | null, why)` whenever the session starts or ends. */
export function onSession(fn) {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}

function setSession(body, why = null) {
  session = body;
  clearTimeout(refreshTimer);
  if (body?.access_expires_at) {
    // Refresh a minute before the access token runs out, so requests rarely meet a 401.
    const wait = body.access_expires_at * 1000 - Date.now() - 60_000;
    refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(5_000, wait));
  }
  for (const fn of sessionListeners) fn(body?.user ?? null, why);
}

async function parseError(res) {
  let code = null;
  let message = null;
  try {
    const body = await res.json();
    code = body.error ?? null;
    message = body.message ?? null;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const retry = Number(res.headers.get("retry-after"));
  return new ApiError(res.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : null);
}

async function send(method, path, body) {
  const headers = { Accept: "application/json", "X-Requested-With": "fieldsync" };
  if (method !== "GET" && method !== "HEAD" && session?.csrf) headers["X-CSRF-Token"] = session.csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
}

/**
 * One request; the JSON answer (or null for 204). An expired access token is refreshed once
 * and the request sent again.
 */
export async function request(method, path, body) {
  let res = await send(method, path, body);
  if (res.status === 401) {
    const err = await parseError(res);
    if (err.code !== "token_expired") return sessionLost(err);
    try {
      await refresh();
    } catch (e) {
      return sessionLost(e);
    }
    res = await send(method, path, body);
    if (res.status === 401) return sessionLost(await parseError(res));
  } else if (res.status === 403 && method !== "GET") {
    const err = await parseError(res);
    if (err.code !== "csrf") throw err;
    // Another tab refreshed the shared cookies: learn the current session's token, once.
    const current = await send("GET", "/console/session");
    if (current.ok) setSession(await current.json());
    else {
      try {
        await refresh();
      } catch (e) {
        return sessionLost(e);
      }
    }
    res = await send(method, path, body);
  }
  if (!res.ok) throw await parseError(res);
  if (res.status === 204) return null;
  const text = await res.text();
  return text === "" ? null : JSON.parse(text);
}

function sessionLost(err) {
  if (session) setSession(null, "Your session has ended; please log in again.");
  throw err instanceof ApiError ? err : new ApiError(401, "unauthorized", String(err));
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);

/** A path with a query string from an object (empty values left out). */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== "" && v !== null && v !== undefined) params.set(k, v);
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** The session of the cookie, if any (at page load). Resolves with the user or null. */
export async function loadSession() {
  const res = await send("GET", "/console/session");
  if (res.ok) {
    setSession(await res.json());
    return currentUser();
  }
  // An expired access token (or a session check the server could not answer) with a live
  // refresh cookie: the refresh gives the session back; without one, log in.
  try {
    await refresh();
    return currentUser();
  } catch {
    return null;
  }
}

/** Logs in; rejects with an ApiError (401, 403 office_only, 429, 503) on refusal. */
export async function login(user, password) {
  const res = await send("POST", "/console/session", { user, password });
  if (!res.ok) throw await parseError(res);
  setSession(await res.json());
  return currentUser();
}

/** New access token and CSRF token from the refresh cookie (one at a time). */
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const res = await send("POST", "/console/session/refresh");
      if (!res.ok) {
        const err = await parseError(res);
        if (res.status === 401) setSession(null, "Your session has ended; please log in again.");
        throw err;
      }
      setSession(await res.json());
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Ends the session on the server and here. */
export async function logout() {
  try {
    await request("POST", "/console/logout");
  } finally {
    setSession(null, "You have logged out.");
  }
}

/** Seconds until the access token expires (negative when it has). */
export function accessSecondsLeft() {
  return session?.access_expires_at ? session.access_expires_at - Date.now() / 1000 : 0;
}

/** The regions a user may filter by: a dispatcher its own, anyone else every region. */
export async function regionChoices() {
  const user = currentUser();
  if (user.role === "dispatcher") return [...(user.regions ?? [])].sort();
  try {
    const list = await get("/v1/regions");
    return list.map((r) => (typeof r === "string" ? r : [r.id, r.name && r.name !== r.id ? `${r.name} (${r.id})` : r.id]));
  } catch {
    return [];
  }
}
