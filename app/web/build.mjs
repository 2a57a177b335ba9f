// Fingerprints the web client into dist/: static/<name>.<hash>.<ext> (immutable-cached by the
// service), index.html and sw.js unhashed (revalidated). Reproducible: the output depends only on
// src/ and the locked socket.io-client, so `make web` and the Dockerfile produce the same bytes.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const out = join(here, "dist");
// Leaves first: a module's hash covers the hashed names of what it imports.
const ASSETS = [
  ["socket.io.esm.min.js", join(here, "node_modules/socket.io-client/dist/socket.io.esm.min.js")],
  ["style.css", join(src, "style.css")],
  ["api.js", join(src, "api.js")],
  ["boundary.js", join(src, "boundary.js")],
  ["notify.js", join(src, "notify.js")],
  ["auth.js", join(src, "auth.js")],
  ["realtime.js", join(src, "realtime.js")],
  ["views.js", join(src, "views.js")],
  ["app.js", join(src, "app.js")],
];

// Decimal digits: the service's immutable-asset rule wants at least one digit in the hash part.
function fingerprint(bytes) {
  const digest = createHash("sha256").update(bytes).digest();
  return (digest.readBigUInt64BE(0) % 10n ** 12n).toString().padStart(12, "0");
}

function rewrite(text, names) {
  return text.replace(/(["'])\.\/([\w.-]+\.(?:js|css))\1/g, (match, quote, name) =>
    names.has(name) ? `${quote}./${names.get(name)}${quote}` : match,
  );
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "static"), { recursive: true });
const names = new Map();
for (const [name, path] of ASSETS) {
  const text = rewrite(readFileSync(path, "utf8"), names);
  const dot = name.lastIndexOf(".");
  const hashed = `${name.slice(0, dot)}.${fingerprint(text)}${name.slice(dot)}`;
  writeFileSync(join(out, "static", hashed), text);
  names.set(name, hashed);
}
const staticUrl = (name) => `/static/${names.get(name)}`;
const index = readFileSync(join(src, "index.html"), "utf8")
  .replaceAll("/static/style.css", staticUrl("style.css"))
  .replaceAll("/static/app.js", staticUrl("app.js"));
writeFileSync(join(out, "index.html"), index);
const shell = ["/", ...[...names.keys()].map(staticUrl)];
const worker = readFileSync(join(src, "sw.js"), "utf8")
  .replace('"__SHELL__"', JSON.stringify(shell))
  .replace("__VERSION__", fingerprint(shell.join("\n")));
writeFileSync(join(out, "sw.js"), worker);
console.log(`web client built: ${names.size} assets in ${out}`);
