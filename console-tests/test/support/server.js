/**
 * A real `field-server` child process with a fresh SQLite database, a random port and a
 * bootstrap admin; JSON API helpers to set up data; `field-cli` for a technician's phone.
 * The binaries are target/debug/{field-server,field-cli} (or under CARGO_TARGET_DIR; build them
 * with `cargo test --workspace --no-run`); FIELDSYNC_SERVER_BIN and FIELDSYNC_CLI_BIN override.
 */
import { spawn, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ADMIN_PASSWORD = "admin-password-for-console-tests";
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export function binary(name, env) {
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
  const path = process.env[env] ?? join(target, "debug", name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: build it first (cargo test --workspace --no-run), or set ${env}`);
  }
  return path;
}

export class TestServer {
  constructor(base, dir, child) {
    this.base = base;
    /** Where the browser opens the console (the server itself, unless a dev proxy is used). */
    this.pageBase = base;
    this.dir = dir;
    this.child = child;
    this.tokens = new Map();
  }

  /** Starts a server; `policy` (TOML text) becomes its --policy file; `env` adds variables. */
  static async start({ policy = null, env = {} } = {}) {
    const dir = await mkdtemp(join(tmpdir(), "fieldsync-console-"));
    const args = ["--bind", "127.0.0.1:0", "--database-url", `sqlite://${join(dir, "fs.db")}`, "--blob-dir", join(dir, "blobs")];
    if (policy) {
      await writeFile(join(dir, "policy.toml"), policy);
      args.push("--policy", join(dir, "policy.toml"));
    }
    const child = spawn(binary("field-server", "FIELDSYNC_SERVER_BIN"), args, {
      env: { ...process.env, FIELDSYNC_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: "error", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const base = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("field-server did not announce its address in 60 s")), 60_000);
      child.stdout.on("data", (chunk) => {
        out += chunk.toString();
        const m = /field-server listening on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on("exit", (code) => reject(new Error(`field-server exited with ${code}`)));
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("field-server never became ready");
      await new Promise((r) => setTimeout(r, 50));
    }
    const s = new TestServer(base, dir, child);
    if (process.env.FIELDSYNC_CONSOLE_DIR) {
      // Development only: the pages from disk in front of the server (see dev-proxy.js).
      const { startProxy } = await import("./dev-proxy.js");
      s.proxy = await startProxy(base, process.env.FIELDSYNC_CONSOLE_DIR);
      s.pageBase = s.proxy.base;
    }
    return s;
  }

  async stop() {
    this.proxy?.close();
    this.child.kill("SIGKILL");
    await rm(this.dir, { recursive: true, force: true });
  }

  /** One JSON request as `user` (a bearer token, fetched once per user). */
  async api(user, method, path, body, retried = false) {
    const token = await this.token(user);
    const headers = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const r = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (r.status === 401 && !retried && text.includes("token_expired")) {
      // Servers with short-lived tokens: log in again.
      this.tokens.delete(user);
      return this.api(user, method, path, body, true);
    }
    if (!r.ok) throw new Error(`${method} ${path} as ${user}: ${r.status} ${text}`);
    return text === "" ? null : JSON.parse(text);
  }

  async token(user) {
    if (!this.tokens.has(user)) {
      const password = user === "admin" ? ADMIN_PASSWORD : passwordOf(user);
      const r = await fetch(`${this.base}/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user, password }),
      });
      if (!r.ok) throw new Error(`login ${user}: ${r.status} ${await r.text()}`);
      this.tokens.set(user, (await r.json()).access_token);
    }
    return this.tokens.get(user);
  }

  region(id) {
    return this.api("admin", "PUT", `/v1/admin/regions/${id}`, { name: id.toUpperCase() });
  }

  skill(id) {
    return this.api("admin", "PUT", `/v1/admin/skills/${id}`, { name: id });
  }

  /** A user with password `passwordOf(id)`. */
  user(id, role, { regions = [], skills = [], capacity = 5 } = {}) {
    return this.api("admin", "POST", "/v1/admin/users", { id, role, password: passwordOf(id), regions, skills, capacity });
  }

  /** A work order through intake (dispatched at once when someone is eligible). */
  order(id, { region = "north", priority = "normal", tier = "standard", customer = "Ada Customer", skills = ["washers"], type = "repair" } = {}) {
    return this.api("admin", "POST", "/v1/workorders", {
      id,
      intake: {
        customer: { name: customer, phone: "+49 30 1234567", address: "Hauptstr. 1, Berlin", tier },
        product: { model: "WM-800", serial: `SN-${id}`, purchase_date: "2025-03-14" },
        service_type: type,
        problem: "Washing machine does not drain",
        priority,
        required_skills: skills,
        region,
        attachments: [],
      },
    });
  }

  assign(id, technician, reason = null) {
    return this.api("admin", "POST", `/v1/workorders/${id}/assign`, { technician, reason });
  }

  view(id) {
    return this.api("admin", "GET", `/v1/workorders/${id}`);
  }
}

export function passwordOf(user) {
  return `${user}-password-long-enough`;
}

const run = promisify(execFile);
const scratch = [];

/** A phone: field-cli with its own device directory, logged in as `user`. */
export async function phone(server, user) {
  const dir = await mkdtemp(join(tmpdir(), "fieldsync-console-phone-"));
  scratch.push(dir);
  const cli = (args) => fieldCli(dir, args);
  await fieldCli(dir, ["login", "--server", server.base, "--user", user], passwordOf(user));
  return cli;
}

export async function fieldCli(device, args, password) {
  const env = { ...process.env, FIELDSYNC_DEVICE: device, ...(password ? { FIELDSYNC_PASSWORD: password } : {}) };
  try {
    const { stdout } = await run(binary("field-cli", "FIELDSYNC_CLI_BIN"), args, { env });
    return stdout;
  } catch (e) {
    throw new Error(`field-cli ${args.join(" ")}: ${e.stderr ?? e.message}`);
  }
}

export async function cleanUp() {
  for (const d of scratch.splice(0)) await rm(d, { recursive: true, force: true });
}
