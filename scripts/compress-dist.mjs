// Writes a gzip (.gz) and a brotli (.br) copy beside each text or wasm file of the built app,
// so the server can send them precompressed to browsers that accept them (backend-mock's
// static files: tower-http ServeDir with precompressed_br/precompressed_gzip). Files that do
// not shrink are left alone. Usage: node scripts/compress-dist.mjs dist
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { basename, join, extname } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const COMPRESSIBLE = new Set(['.wasm', '.js', '.mjs', '.css', '.html', '.json', '.webmanifest', '.svg']);

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

// The worker script stays single: the browser compares it byte for byte on every update
// check, and a compressed copy left behind by a changed sw.js would hide the update.
const SKIP = new Set(['sw.js']);

const dir = process.argv[2] || 'dist';
for (const path of files(dir)) {
  if (!COMPRESSIBLE.has(extname(path)) || SKIP.has(basename(path))) continue;
  const raw = readFileSync(path);
  const gz = gzipSync(raw, { level: 9 });
  const br = brotliCompressSync(raw, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
  if (br.length < raw.length) writeFileSync(`${path}.br`, br);
}
