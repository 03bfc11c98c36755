// Accessibility of every page of the app in a real browser against a real backend-mock:
// axe-core (WCAG 2.x A/AA and best-practice rules) finds no violation on any page, signed out
// (login, register) or signed in as the demo patient with its data loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suite, axeEveryPage, PAGES } from './support.mjs';

const s = suite();

test('axe-core finds no violation on any page', async () => {
  const { page, errors } = s.browser;
  const found = await axeEveryPage(page, s.backend);
  assert.deepEqual(Object.keys(found).sort(), PAGES.map((p) => p.name).sort(), 'every page was checked');
  const violations = Object.entries(found)
    .flatMap(([name, list]) => list.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.join(', ')}`));
  assert.deepEqual(violations, []);
  assert.deepEqual(errors, []);
});
