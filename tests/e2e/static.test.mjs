// The app's files are sent precompressed: brotli or gzip as the browser accepts, the plain
// file otherwise, with the same bytes once decoded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { Backend } from './support.mjs';

let backend;
before(async () => { backend = await Backend.start(); });
after(async () => { await backend?.close(); });

function fetchRaw(url, acceptEncoding) {
  return new Promise((resolve, reject) => {
    const headers = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
    get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('the app module is sent as brotli, gzip or plain, as the browser accepts', async () => {
  const index = (await fetchRaw(`${backend.url}/`)).body.toString();
  const wasm = index.match(/lifeline-web-[0-9a-f]+_bg\.wasm/)[0];
  const url = `${backend.url}/${wasm}`;

  const plain = await fetchRaw(url);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-encoding'], undefined);

  const br = await fetchRaw(url, 'gzip, deflate, br');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.ok(br.body.length < plain.body.length * 0.4, `${br.body.length} of ${plain.body.length}`);
  assert.ok(brotliDecompressSync(br.body).equals(plain.body));

  const gz = await fetchRaw(url, 'gzip');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gunzipSync(gz.body).equals(plain.body));
});

test('a page of the app (the shell, for any route) is sent compressed too', async () => {
  const plain = await fetchRaw(`${backend.url}/appointments`);
  assert.equal(plain.status, 200);
  assert.match(plain.body.toString(), /<div id="shell">/);
  const br = await fetchRaw(`${backend.url}/appointments`, 'gzip, deflate, br');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.ok(brotliDecompressSync(br.body).equals(plain.body));
  assert.equal(br.headers['cache-control'], 'no-cache');
});
