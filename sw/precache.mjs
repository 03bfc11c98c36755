// Writes dist/sw.js from sw/sw.js with the precache manifest of the files in dist/: every
// file of the app shell with a content hash as its revision, and a version hashed from all
// of them. Run by scripts/build-web after the app and the worker module are in dist/.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const dist = process.argv[2] || 'dist';
const template = process.argv[3] || 'sw/sw.js';
// The worker script itself is never precached: the browser fetches it to detect updates.
const skip = new Set(['sw.js', 'precache-manifest.json']);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const entries = walk(dist)
  .map((path) => relative(dist, path).split(sep).join('/'))
  .filter((rel) => !skip.has(rel))
  .sort()
  .map((rel) => ({
    url: '/' + rel,
    revision: createHash('sha256').update(readFileSync(join(dist, rel))).digest('hex').slice(0, 16),
  }));
const version = createHash('sha256')
  .update(entries.map((e) => `${e.url} ${e.revision}`).join('\n'))
  .digest('hex')
  .slice(0, 16);
const manifest = JSON.stringify({ version, entries });

const source = readFileSync(template, 'utf8');
const placeholder = "'__LIFELINE_PRECACHE_MANIFEST__'";
if (!source.includes(placeholder)) throw new Error('manifest placeholder missing in ' + template);
writeFileSync(join(dist, 'sw.js'), source.replace(placeholder, JSON.stringify(manifest)));
writeFileSync(join(dist, 'precache-manifest.json'), manifest + '\n');
process.stderr.write(`[build-web] precache ${version}: ${entries.length} files\n`);
