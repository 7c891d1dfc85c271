// examples/chat in headless Chromium, as people use it: log in with the password form, talk over
// the secured WebSocket, a second page without `chat:write` reads but cannot post, and a socket
// is closed with 1008 when its token expires.
//
//   BASE_URL=http://127.0.0.1:8004 TOKEN_LIFETIME=30 node --test chat.test.mjs
//
// Environment:
//   BASE_URL        the running example (required), started with TOKEN_LIFETIME seconds
//   TOKEN_LIFETIME  the example's token lifetime in seconds (default 30): the expiry test waits
//                   that long for the server to close the socket
//   CHROMIUM        the browser binary (default /usr/bin/chromium, Debian's package)
//   OUT_DIR         where screenshots go (default ./out beside this file)
//
// The page must work offline: every request that leaves BASE_URL's origin fails the test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE_URL = (process.env.BASE_URL ?? '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT_DIR = process.env.OUT_DIR ?? path.join(HERE, 'out');
const TOKEN_LIFETIME_MS = Number(process.env.TOKEN_LIFETIME ?? '30') * 1000;
const STEP_TIMEOUT_MS = 30_000;

if (!BASE_URL) {
  throw new Error('set BASE_URL to the running chat example, e.g. BASE_URL=http://127.0.0.1:8004');
}
const BASE_ORIGIN = new URL(BASE_URL).origin;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** One browser; each page in a context of its own (no shared storage), watched for problems. */
async function withBrowser(t, fn) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const pages = [];
  const problems = [];
  const external = [];
  const sockets = [];
  const open = async (name) => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === BASE_ORIGIN) return route.continue();
      external.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`${name}: console error: ${msg.text()}`);
    });
    page.on('websocket', (socket) => sockets.push({ page: name, url: socket.url() }));
    pages.push({ name, page });
    return page;
  };
  let failed = true;
  try {
    await fn(open, sockets);
    failed = false;
  } finally {
    await mkdir(OUT_DIR, { recursive: true });
    for (const { name, page } of pages) {
      const file = path.join(OUT_DIR, `chat-${name}${failed ? '-FAILED' : ''}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      t.diagnostic(`screenshot: ${file}`);
    }
    if (failed) for (const line of problems) t.diagnostic(line);
    await browser.close();
  }
  assert.deepEqual(external, [], 'the page works offline: no request may leave the app');
}

/** Opens the page and logs in; resolves once the socket's welcome has arrived. */
async function logIn(page, username, password, expectedStatus) {
  const response = await page.goto(`${BASE_URL}/`, { waitUntil: 'domcontentloaded' });
  assert.equal(response?.status(), 200, 'the page is served at /');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('#login').click();
  await page.locator('#status', { hasText: expectedStatus }).waitFor({ state: 'visible' });
}

/** Every line of the page's room log. */
async function lines(page) {
  return page.locator('#log li').allInnerTexts();
}

async function send(page, text) {
  await page.locator('#message').fill(text);
  await page.locator('#send').click();
}

async function waitForLine(page, text) {
  await page.locator('#log li', { hasText: text }).first().waitFor({ state: 'visible' });
}

test('log in, send and receive; a page without chat:write reads but cannot post', { timeout: 180_000 }, async (t) => {
  await withBrowser(t, async (open, sockets) => {
    const alice = await open('alice');
    await logIn(alice, 'alice', 'wonderland', 'Connected as alice (can post).');
    const bob = await open('bob');
    await logIn(bob, 'bob', 'builder', 'Connected as bob (read only).');

    // The server answered with the chat's subprotocol, not the token entry.
    for (const page of [alice, bob]) {
      assert.equal(await page.locator('body').getAttribute('data-protocol'), 'chat.v1');
    }
    // The token travelled in the subprotocol, not in the URL.
    assert.deepEqual(sockets.map((s) => new URL(s.url).pathname + new URL(s.url).search), ['/ws', '/ws']);

    await send(alice, 'hello from alice');
    await waitForLine(alice, 'alice: hello from alice');
    await waitForLine(bob, 'alice: hello from alice');

    await send(bob, 'bob here');
    await waitForLine(bob, 'Not enough permissions: posting needs chat:write');
    // Alice hears her next message, and never Bob's.
    await send(alice, 'still just me');
    await waitForLine(alice, 'alice: still just me');
    await waitForLine(bob, 'alice: still just me');
    for (const page of [alice, bob]) {
      assert.ok(!(await lines(page)).some((line) => line.includes('bob here')), 'no one heard bob');
    }
  });
});

test('a wrong password is refused and opens no socket', { timeout: 120_000 }, async (t) => {
  await withBrowser(t, async (open, sockets) => {
    const page = await open('wrong-password');
    await logIn(page, 'alice', 'not-her-password', 'Login failed: Incorrect username or password');
    assert.deepEqual(sockets, []);
  });
});

test('the server closes the socket with 1008 when the token expires', { timeout: TOKEN_LIFETIME_MS + 120_000 }, async (t) => {
  await withBrowser(t, async (open) => {
    const page = await open('expiry');
    await logIn(page, 'alice', 'wonderland', 'Connected as alice (can post).');
    const closed = page.locator('#log li.closed');
    await closed.waitFor({ state: 'visible', timeout: TOKEN_LIFETIME_MS + 30_000 });
    assert.equal(await closed.innerText(), 'Closed: 1008 Token expired');
    assert.equal(await page.locator('body').getAttribute('data-closed'), '1008');
  });
});
