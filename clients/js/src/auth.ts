/**
 * Login, refresh, expiry and logout against `/v1/auth/*`.
 *
 * The session (access token, its expiry by the device clock, refresh token) is kept in the
 * {@link DeviceStore} under `session`, written before a new token is used, so a device that
 * restarts mid-refresh still holds a token the server accepts.
 *
 * **A lost refresh response.** The server rotates the refresh token on every refresh; a
 * device whose refresh response never arrived still holds the old token. The server accepts
 * that old token once more within 60 seconds (server/src/auth/refresh). So a refresh that
 * fails in transit keeps the old token and retries it at once, a few times: the retry gets
 * a fresh pair, and the token the lost response carried is void.
 */
import type { DeviceStore } from "./store.js";

/** What the server answers for a refused request: `{"error": code, "message": text}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  static async from(res: Response): Promise<ApiError> {
    const text = await res.text().catch(() => "");
    try {
      const body = JSON.parse(text) as { error?: unknown; message?: unknown };
      const code = typeof body.error === "string" ? body.error : `http_${res.status}`;
      const message = typeof body.message === "string" ? body.message : text;
      return new ApiError(res.status, code, message);
    } catch {
      return new ApiError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText);
    }
  }
}

/** The request never got an answer (no connection, a dropped response). */
export class NetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NetworkError";
  }
}

export interface Session {
  user: string;
  role: string;
  device: string;
  accessToken: string;
  /** Device-clock ms after which the access token is taken as expired. */
  accessExpiresAt: number;
  refreshToken: string;
}

export type Fetch = typeof fetch;

export interface AuthOptions {
  baseUrl: string;
  store: DeviceStore;
  fetch?: Fetch;
  /** The device clock, ms since the epoch. */
  now?: () => number;
  /** Retries of a refresh whose response was lost (the server's grace window is 60 s). */
  refreshRetries?: number;
}

/** Refresh this long before the access token's expiry by the device clock (clocks drift). */
const EXPIRY_MARGIN_MS = 30_000;
const SESSION_KEY = "session";

export class Auth {
  readonly baseUrl: string;
  private readonly fetchFn: Fetch;
  private readonly now: () => number;
  private readonly store: DeviceStore;
  private readonly retries: number;
  private session: Session | null = null;
  private loaded = false;
  private refreshing: Promise<Session> | null = null;

  constructor(o: AuthOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, "");
    this.store = o.store;
    this.fetchFn = o.fetch ?? fetch;
    this.now = o.now ?? Date.now;
    this.retries = o.refreshRetries ?? 3;
  }

  /** Sends a request, mapping a failure to answer to {@link NetworkError}. */
  async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(`${this.baseUrl}${path}`, init);
    } catch (e) {
      throw new NetworkError(`no answer from ${this.baseUrl}${path}: ${String(e)}`, { cause: e });
    }
  }

  async current(): Promise<Session | null> {
    if (!this.loaded) {
      const raw = await this.store.getMeta(SESSION_KEY);
      this.session = raw === null ? null : (JSON.parse(raw) as Session);
      this.loaded = true;
    }
    return this.session;
  }

  private async save(s: Session | null): Promise<void> {
    await this.store.putMeta(SESSION_KEY, s === null ? null : JSON.stringify(s));
    this.session = s;
    this.loaded = true;
  }

  private async tokens(path: string, body: unknown, device: string): Promise<Session> {
    const res = await this.send(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await ApiError.from(res);
    const t = (await res.json()) as {
      access_token: string;
      expires_in: number;
      refresh_token: string;
      user: { id: string; role: string };
    };
    const session: Session = {
      user: t.user.id,
      role: t.user.role,
      device,
      accessToken: t.access_token,
      accessExpiresAt: this.now() + t.expires_in * 1000,
      refreshToken: t.refresh_token,
    };
    await this.save(session);
    return session;
  }

  /** Logs in as `user` on `device`; the session is stored. */
  async login(user: string, password: string, device: string): Promise<Session> {
    return this.tokens("/v1/auth/login", { user, password, device_id: device }, device);
  }

  /**
   * Trades the refresh token for a new pair. A response lost in transit is retried with the
   * same token (the server's one grace retry); a refusal (401) ends the session.
   */
  async refresh(): Promise<Session> {
    if (this.refreshing === null) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<Session> {
    const s = await this.current();
    if (s === null) throw new ApiError(401, "not_logged_in", "log in first");
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      try {
        return await this.tokens("/v1/auth/refresh", { refresh_token: s.refreshToken }, s.device);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          await this.save(null);
          throw e;
        }
        if (!(e instanceof NetworkError)) throw e;
        lastError = e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
    throw lastError;
  }

  /** A usable access token: refreshed first when it expires within 30 s by the device clock. */
  async accessToken(): Promise<string> {
    const s = await this.current();
    if (s === null) throw new ApiError(401, "not_logged_in", "log in first");
    if (this.now() + EXPIRY_MARGIN_MS >= s.accessExpiresAt) return (await this.refresh()).accessToken;
    return s.accessToken;
  }

  /**
   * Sends an authenticated request. A `401 token_expired` (the server's clock ran ahead of
   * ours) refreshes and retries once.
   */
  async authed(path: string, init: RequestInit = {}): Promise<Response> {
    const go = async (token: string): Promise<Response> =>
      this.send(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
    const res = await go(await this.accessToken());
    if (res.status !== 401) return res;
    const err = await ApiError.from(res);
    if (err.code !== "token_expired") throw err;
    return go((await this.refresh()).accessToken);
  }

  /** Ends the login on the server (its refresh tokens stop working) and forgets it here. */
  async logout(): Promise<void> {
    const s = await this.current();
    if (s === null) return;
    const res = await this.send("/v1/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: s.refreshToken }),
    });
    await this.save(null);
    if (!res.ok && res.status !== 401) throw await ApiError.from(res);
  }
}
