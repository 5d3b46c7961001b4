/**
 * A real `field-server` child process with a fresh SQLite database, a random port and a
 * bootstrap admin, as tests/src/server.rs starts it for the Rust end-to-end tests. The binary
 * is `target/debug/field-server` (or under `CARGO_TARGET_DIR`; build it with cargo first; `FIELDSYNC_SERVER_BIN`
 * overrides), and `field-cli` likewise (`FIELDSYNC_CLI_BIN`).
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ADMIN_PASSWORD = "admin-password-for-tests";
const ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));

export function binary(name: string, env: string): string {
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
  const path = process.env[env] ?? join(target, "debug", name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: build it first (cargo build -p server -p field-cli), or set ${env}`);
  }
  return path;
}

export class TestServer {
  private constructor(
    readonly base: string,
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<TestServer> {
    const dir = await mkdtemp(join(tmpdir(), "fieldsync-js-e2e-"));
    const child = spawn(
      binary("field-server", "FIELDSYNC_SERVER_BIN"),
      ["--bind", "127.0.0.1:0", "--database-url", `sqlite://${join(dir, "fieldsync.db")}`, "--blob-dir", join(dir, "blobs")],
      { env: { ...process.env, FIELDSYNC_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: "warn", ...env }, stdio: ["ignore", "pipe", "inherit"] },
    );
    const base = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("field-server did not announce its address in 60 s")), 60_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /field-server listening on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on("exit", (code) => reject(new Error(`field-server exited with ${code}`)));
    });
    const s = new TestServer(base, dir, child);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("field-server never became ready");
      await new Promise((r) => setTimeout(r, 50));
    }
    return s;
  }

  async stop(): Promise<void> {
    this.child.kill("SIGKILL");
    await rm(this.dir, { recursive: true, force: true });
  }

  async request(token: string | null, method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  async ok(token: string | null, method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await this.request(token, method, path, body);
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text === "" ? null : JSON.parse(text);
  }

  async token(user: string, password: string): Promise<string> {
    const t = (await this.ok(null, "POST", "/v1/auth/login", { user, password })) as { access_token: string };
    return t.access_token;
  }

  adminToken(): Promise<string> {
    return this.token("admin", ADMIN_PASSWORD);
  }

  /** Creates a user (password `<id>-password`) with its region and skill. */
  async addUser(admin: string, id: string, role: string, region = "north"): Promise<void> {
    await this.ok(admin, "PUT", `/v1/admin/regions/${region}`, { name: region.toUpperCase() });
    await this.ok(admin, "PUT", "/v1/admin/skills/washing-machines", { name: "WASHING-MACHINES" });
    await this.ok(admin, "POST", "/v1/admin/users", {
      id,
      role,
      password: `${id}-password`,
      regions: [region],
      skills: ["washing-machines"],
      capacity: 5,
    });
  }

  async createOrder(token: string, id: string, region = "north"): Promise<void> {
    await this.ok(token, "POST", "/v1/workorders", {
      id,
      intake: {
        customer: { name: "Ada Customer", phone: "+49 30 1234567", address: "Hauptstr. 1, Berlin", tier: "standard" },
        product: { model: "WM-800", serial: "SN-0001", purchase_date: "2025-03-14" },
        service_type: "repair",
        problem: "Washing machine does not drain",
        priority: "normal",
        required_skills: ["washing-machines"],
        region,
        attachments: [],
      },
    });
  }

  async assign(token: string, id: string, technician: string, reason: string | null = null): Promise<void> {
    await this.ok(token, "POST", `/v1/workorders/${id}/assign`, { technician, reason });
  }

  /** Assigns unless intake's auto-dispatch already gave the job to `technician`. */
  async assignTo(token: string, id: string, technician: string): Promise<void> {
    const v = await this.view(token, id);
    const view = ("view" in v ? v.view : v) as { assignee: string | null };
    if (view.assignee !== technician) await this.assign(token, id, technician, view.assignee === null ? null : "test setup");
  }

  /** The server's view of a work order. */
  async view(token: string, id: string): Promise<Record<string, unknown>> {
    return (await this.ok(token, "GET", `/v1/workorders/${id}`)) as Record<string, unknown>;
  }
}

const run = promisify(execFile);

/** Runs field-cli with a device directory; returns stdout. */
export async function fieldCli(device: string, args: string[], password?: string): Promise<string> {
  const env = { ...process.env, FIELDSYNC_DEVICE: device, ...(password ? { FIELDSYNC_PASSWORD: password } : {}) };
  try {
    const { stdout } = await run(binary("field-cli", "FIELDSYNC_CLI_BIN"), args, { env });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`field-cli ${args.join(" ")}: ${err.stderr ?? err.message}`);
  }
}
