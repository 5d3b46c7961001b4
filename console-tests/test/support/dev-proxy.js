/**
 * For editing the console without rebuilding field-server (which embeds server/console/ in
 * its binary): serves `/` and `/console/*` from a directory on disk, with the server's CSP, and
 * passes everything else (the API, the event stream) to a running server.
 *
 *   node test/support/dev-proxy.js http://127.0.0.1:8080 ../server/console 8081
 *
 * The tests use it when FIELDSYNC_CONSOLE_DIR is set; CI never sets it, so CI tests what ships.
 */
import { createServer, request } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };
const CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Starts the proxy on `port` (0: any); resolves with its base URL and a close function. */
export function startProxy(upstream, dir, port = 0) {
  const up = new URL(upstream);
  const server = createServer(async (req, res) => {
    const path = req.url.split("?")[0];
    if (req.method === "GET" && (path === "/" || path.startsWith("/console/") && !path.startsWith("/console/session") && path !== "/console/logout")) {
      const file = path === "/" ? "index.html" : normalize(path.slice("/console/".length));
      if (file.startsWith("..")) return res.writeHead(404).end();
      try {
        const body = await readFile(join(dir, file));
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-security-policy": CSP, "cache-control": "no-cache" });
        return res.end(body);
      } catch {
        return res.writeHead(404).end();
      }
    }
    const fwd = request(
      { hostname: up.hostname, port: up.port, path: req.url, method: req.method, headers: { ...req.headers, host: up.host } },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    fwd.on("error", () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      resolve({ base: `http://127.0.0.1:${server.address().port}`, close: () => server.close() });
    });
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const [upstream, dir, port] = process.argv.slice(2);
  startProxy(upstream, dir, Number(port ?? 0)).then(({ base }) => console.log(`console from ${dir} on ${base}, API at ${upstream}`));
}
