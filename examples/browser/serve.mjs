// A tiny static server for the browser example (no dependencies), on 127.0.0.1 only:
//   npm run example:browser                  (or: node examples/browser/serve.mjs [--port 8080] [--models DIR])
// then open http://127.0.0.1:8080/. Serves this folder at /, the built package (dist/) at
// /edgevae/ (the page's import map points "edgevae" at /edgevae/browser.js), and the model files
// of models/ (or --models DIR) at /models/, with /models/ listing them as JSON.
import { createServer } from "node:http";
import { readFile, readdir, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = resolve(HERE, "../..");
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".wasm": "application/wasm", ".png": "image/png",
  ".map": "application/json", ".safetensors": "application/octet-stream",
};

/** Starts the server; mounts maps URL prefixes ("/x/") to extra folders. Resolves to { server, url }. */
export function startServer({ port = 8080, host = "127.0.0.1", models = join(ROOT, "models"), mounts = {} } = {}) {
  const table = Object.fromEntries(Object.entries({ "/edgevae/": join(ROOT, "dist"), "/models/": models, ...mounts, "/": HERE })
    .map(([prefix, dir]) => [prefix, resolve(dir)]));
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path === "/models/") {
        const files = (await readdir(table["/models/"])).filter((f) => f.endsWith(".safetensors")).sort();
        return send(res, 200, JSON.stringify(files), TYPES[".json"]);
      }
      const prefix = Object.keys(table).find((p) => path.startsWith(p));
      const base = table[prefix];
      const file = normalize(join(base, path.slice(prefix.length) || "index.html"));
      if (file !== base && !file.startsWith(base + sep)) return send(res, 403, "forbidden", "text/plain");
      const info = await stat(file).catch(() => undefined);
      const target = info?.isDirectory() ? join(file, "index.html") : file;
      const body = await readFile(target).catch(() => undefined);
      if (!body) return send(res, 404, `not found: ${path}`, "text/plain");
      send(res, 200, body, TYPES[extname(target)] ?? "application/octet-stream");
    } catch (err) {
      send(res, 500, String(err), "text/plain");
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolvePromise({ server, url: `http://${host}:${actual}/` });
    });
  });
}

function send(res, status, body, type) {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
  const { url } = await startServer({ port: Number(opt("port", 8080)), models: opt("models", join(ROOT, "models")) });
  console.log(`edgevae browser example: ${url}  (Ctrl-C to stop)`);
}
