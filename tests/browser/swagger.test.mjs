// Swagger UI at /docs, driven as a person would: authorize through the OAuth2 password flow
// dialog, then "Try it out" on GET /users/me/items/.
//
//   BASE_URL=http://127.0.0.1:8731 node --test swagger.test.mjs
//
// Environment:
//   BASE_URL          the running app (required), e.g. http://127.0.0.1:8731
//   DOCS_PATH         where Swagger UI is served (default /docs)
//   CHROMIUM          the browser binary (default /usr/bin/chromium, Debian's package)
//   OUT_DIR           where screenshots go (default ./out beside this file)
//   REFERENCE_CDN_SHIM=1
//                     only for FastAPI's reference app, whose /docs loads Swagger UI from a CDN:
//                     those requests are answered from the swagger-ui-dist npm package instead
//                     (pinned to 5.17.14: the Swagger UI that utoipa-swagger-ui 9 embeds through
//                     utoipa-swagger-ui-vendored 0.1.2), and other external requests (its
//                     favicon) are dropped without failing the test.
//
// Without REFERENCE_CDN_SHIM the page must work offline: every request that leaves BASE_URL's
// origin is aborted and fails the test. Nothing is ever sent beyond this machine.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE_URL = (process.env.BASE_URL ?? '').replace(/\/+$/, '');
const DOCS_PATH = process.env.DOCS_PATH ?? '/docs';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT_DIR = process.env.OUT_DIR ?? path.join(HERE, 'out');
const CDN_SHIM = process.env.REFERENCE_CDN_SHIM === '1';

const OPERATION_PATH = '/users/me/items/';
const TEST_TIMEOUT_MS = 180_000;
const STEP_TIMEOUT_MS = 30_000;

const SCOPE_DESCRIPTIONS = {
  me: 'Read information about the current user.',
  items: 'Read items.',
};

if (!BASE_URL) {
  throw new Error('set BASE_URL to the running app, e.g. BASE_URL=http://127.0.0.1:8731');
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

const CONTENT_TYPES = {
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Answers https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/FILE from node_modules/swagger-ui-dist. */
async function cdnShim(url) {
  const match = /^https:\/\/cdn\.jsdelivr\.net\/npm\/swagger-ui-dist@[^/]+\/([A-Za-z0-9._-]+)$/.exec(url);
  if (!match) return null;
  const file = path.join(HERE, 'node_modules', 'swagger-ui-dist', match[1]);
  try {
    return { body: await readFile(file), contentType: CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' };
  } catch (err) {
    throw new Error(`REFERENCE_CDN_SHIM: ${file} is missing (run npm ci in tests/browser): ${err.message}`);
  }
}

/**
 * A fresh browser with a fresh temporary profile, one per test, so that nothing (cookies,
 * localStorage, a persisted authorization) leaks from one test into the next.
 */
async function openBrowser(t) {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'swagger-test-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 1400 },
    serviceWorkers: 'block',
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);

  const external = [];
  const problems = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === BASE_ORIGIN) {
      return route.continue();
    }
    if (CDN_SHIM) {
      const shim = await cdnShim(url);
      if (shim) return route.fulfill({ status: 200, contentType: shim.contentType, body: shim.body });
    }
    external.push(url);
    return route.abort('blockedbyclient');
  });

  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText})`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });

  return {
    page,
    external,
    async close(name, failed) {
      try {
        await mkdir(OUT_DIR, { recursive: true });
        const file = path.join(OUT_DIR, `${name}${failed ? '-FAILED' : ''}.png`);
        await page.screenshot({ path: file, fullPage: true });
        t.diagnostic(`screenshot: ${file}`);
      } catch (err) {
        t.diagnostic(`no screenshot: ${err.message}`);
      }
      if (failed) for (const line of problems) t.diagnostic(line);
      for (const url of new Set(external)) t.diagnostic(`external request blocked: ${url}`);
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value; for state that has no element to wait for. */
async function eventually(fn, what, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function openDocs(page) {
  const response = await page.goto(`${BASE_URL}${DOCS_PATH}`, { waitUntil: 'domcontentloaded' });
  assert.ok(response, `no response for ${BASE_URL}${DOCS_PATH}`);
  assert.equal(response.status(), 200, `${BASE_URL}${DOCS_PATH} answered ${response.status()}`);
  // Swagger UI renders once it has fetched and parsed the OpenAPI document.
  await page.locator('#swagger-ui .information-container').waitFor({ state: 'visible', timeout: 60_000 });
  await page.locator('.auth-wrapper .btn.authorize').waitFor({ state: 'visible' });
}

/**
 * Opens the Authorize dialog, logs in through the OAuth2 password flow with the given scopes
 * ticked, checks that the dialog says so, and closes it.
 */
async function authorize(page, scopes, t, name) {
  await page.locator('.auth-wrapper .btn.authorize').click();
  const dialog = page.locator('.dialog-ux .modal-ux');
  await dialog.waitFor({ state: 'visible' });

  // The OAuth2 password flow's section, titled "<scheme name> (OAuth2, password)".
  const flow = dialog.locator('.auth-container').filter({ has: page.locator('h4', { hasText: '(OAuth2, password)' }) });
  await flow.waitFor({ state: 'visible' }); // strict: fails if there were two such flows
  await flow.locator('#oauth_username').fill('johndoe');
  await flow.locator('#oauth_password').fill('secret');

  // Every declared scope is offered, with its description from the scopes declaration.
  for (const [name, description] of Object.entries(SCOPE_DESCRIPTIONS)) {
    const row = flow.locator('.scopes .checkbox').filter({ has: page.locator('p.name', { hasText: new RegExp(`^${name}$`) }) });
    await row.waitFor({ state: 'visible' });
    assert.equal((await row.locator('p.description').innerText()).trim(), description, `description of scope ${name}`);
  }

  for (const name of Object.keys(SCOPE_DESCRIPTIONS)) {
    const input = flow.locator(`.scopes input[type="checkbox"][data-value="${name}"]`);
    const wanted = scopes.includes(name);
    if ((await input.isChecked()) !== wanted) {
      // Swagger UI hides the input itself and styles its label as the checkbox.
      const id = await input.getAttribute('id');
      await flow.locator(`label[for="${id}"]`).click();
    }
    await eventually(async () => (await input.isChecked()) === wanted, `scope ${name} to be ${wanted ? 'ticked' : 'unticked'}`);
  }

  await mkdir(OUT_DIR, { recursive: true });
  await dialog.screenshot({
    path: path.join(OUT_DIR, `${name}-dialog.png`),
    // The dialog scrolls within a fixed height; show it whole.
    style: '.dialog-ux .modal-ux-content { max-height: none !important; overflow: visible !important; }',
  });

  // Swagger UI fetches the token itself; keep what it sent and got, for the report on failure.
  const tokenExchange = page
    .waitForResponse((res) => res.request().method() === 'POST' && res.request().postData()?.includes('grant_type=password'))
    .then(async (res) => {
      const req = res.request();
      const sent = (req.postData() ?? '').replace(/password=[^&]*/, 'password=***');
      const auth = (await req.allHeaders()).authorization;
      const answer = (await res.text().catch(() => '')).replace(/"(access|refresh)_token":\s*"[^"]*"/g, '"$1_token":"…"');
      return `token request: POST ${req.url()} body ${sent}${auth ? ` Authorization: ${auth}` : ''} -> ${res.status()} ${answer}`;
    })
    .catch((err) => `no token request seen: ${err.message}`);
  await flow.locator('.auth-btn-wrapper button.authorize', { hasText: 'Authorize' }).click();
  const exchange = await tokenExchange;
  t.diagnostic(exchange);

  // Authorized: the flow shows "Logout" in place of "Authorize", and the username as text.
  const logout = flow.locator('.auth-btn-wrapper button', { hasText: 'Logout' });
  try {
    await logout.waitFor({ state: 'visible' });
  } catch (err) {
    const errors = await flow.locator('.errors').allInnerTexts().catch(() => []);
    throw new Error(
      `the dialog did not show "Logout" after Authorize${errors.length ? `; it shows: ${errors.join(' | ')}` : ''}\n${exchange}\n${err.message}`,
    );
  }
  assert.match(await flow.innerText(), /Authorized/, 'the flow says "Authorized"');
  await dialog.screenshot({
    path: path.join(OUT_DIR, `${name}-dialog-authorized.png`),
    style: '.dialog-ux .modal-ux-content { max-height: none !important; overflow: visible !important; }',
  });
  assert.equal(await flow.locator('#oauth_username').count(), 0, 'the username field gave way to the username');

  await dialog.locator('button.btn-done', { hasText: 'Close' }).first().click();
  await dialog.waitFor({ state: 'detached' });
  // The page-level button now shows a closed lock.
  await page.locator('.auth-wrapper .btn.authorize.locked').waitFor({ state: 'visible' });
}

/** Expands GET /users/me/items/, clicks "Try it out" and "Execute"; returns the live response. */
async function execute(page) {
  const op = page.locator('.opblock.opblock-get').filter({
    has: page.locator(`.opblock-summary-path[data-path="${OPERATION_PATH}"]`),
  });
  await op.waitFor({ state: 'visible' });
  assert.equal(await op.count(), 1, `exactly one GET ${OPERATION_PATH} operation`);

  // The operation is secured, and its lock shows that credentials are set.
  await op.locator('.opblock-summary button.authorization__btn[aria-label="authorization button locked"]').waitFor({ state: 'visible' });

  if (!(await op.evaluate((el) => el.classList.contains('is-open')))) {
    await op.locator('.opblock-summary-path').click();
  }
  await op.locator('.opblock-body').waitFor({ state: 'visible' });
  await op.locator('button.try-out__btn', { hasText: 'Try it out' }).click();
  await op.locator('button.execute', { hasText: 'Execute' }).click();

  const live = op.locator('.live-responses-table .response');
  await live.first().waitFor({ state: 'visible' });
  // The status cell reads "401" or, for a status the document does not list, "401 Undocumented".
  const statusCell = (await live.first().locator('.response-col_status').innerText()).trim();
  const status = /^\d{3}/.exec(statusCell)?.[0] ?? statusCell;
  const body = await live.first().locator('.response-col_description').innerText();
  return { op, status, body };
}

async function withBrowser(t, name, fn) {
  const session = await openBrowser(t);
  let failed = true;
  try {
    await fn(session.page);
    failed = false;
  } finally {
    await session.close(name, failed);
  }
  if (!CDN_SHIM) {
    assert.deepEqual(session.external, [], 'Swagger UI must work offline: no request may leave the app');
  }
}

test('scopes me + items: GET /users/me/items/ answers 200 with the items', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await withBrowser(t, 'items-authorized', async (page) => {
    await openDocs(page);
    await authorize(page, ['me', 'items'], t, 'items-authorized');
    const { op, status, body } = await execute(page);
    await op.scrollIntoViewIfNeeded();
    assert.equal(status, '200', `status; body: ${body}`);
    assert.ok(body.includes('"item_id": "Foo"'), `body has "item_id": "Foo": ${body}`);
    assert.ok(body.includes('"owner": "johndoe"'), `body has "owner": "johndoe": ${body}`);
    // The request Swagger UI sent carried the bearer token (shown in its curl line).
    assert.match(await op.locator('.curl-command').innerText(), /Authorization: Bearer \S+/);
  });
});

test('scope me only: GET /users/me/items/ answers 401 "Not enough permissions"', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await withBrowser(t, 'items-me-only', async (page) => {
    await openDocs(page);
    await authorize(page, ['me'], t, 'items-me-only');
    const { op, status, body } = await execute(page);
    await op.scrollIntoViewIfNeeded();
    assert.equal(status, '401', `status; body: ${body}`);
    assert.ok(body.includes('Not enough permissions'), `body says "Not enough permissions": ${body}`);
  });
});

test('POST /token: "Try it out" shows the form\'s fields, and logs in', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await withBrowser(t, 'token-form', async (page) => {
    await openDocs(page);
    const op = page.locator('.opblock.opblock-post').filter({
      has: page.locator('.opblock-summary-path[data-path="/token"]'),
    });
    await op.waitFor({ state: 'visible' });
    await op.locator('.opblock-summary-path').click();
    await op.locator('.opblock-body').waitFor({ state: 'visible' });
    await op.locator('button.try-out__btn', { hasText: 'Try it out' }).click();

    // Every field of the OAuth2 password form is offered, username and password as required.
    const body = op.locator('.opblock-section-request-body');
    await body.waitFor({ state: 'visible' });
    for (const field of ['grant_type', 'username', 'password', 'scope', 'client_id', 'client_secret']) {
      await body.locator(`tr[data-property-name="${field}"]`).waitFor({ state: 'visible' });
    }
    for (const field of ['username', 'password']) {
      const required = body.locator(`tr[data-property-name="${field}"] .parameter__name.required`);
      assert.equal(await required.count(), 1, `${field} is marked required`);
    }
    await body.locator('tr[data-property-name="username"] input:not([type=checkbox])').fill('johndoe');
    await body.locator('tr[data-property-name="password"] input:not([type=checkbox])').fill('secret');
    await body.locator('tr[data-property-name="scope"] input:not([type=checkbox])').fill('me');
    await op.locator('button.execute', { hasText: 'Execute' }).click();

    const live = op.locator('.live-responses-table .response');
    await live.first().waitFor({ state: 'visible' });
    const status = (await live.first().locator('.response-col_status').innerText()).trim();
    const answer = await live.first().locator('.response-col_description').innerText();
    assert.match(status, /^200/, `status; body: ${answer.replace(/"access_token": "[^"]*"/, '"access_token": "…"')}`);
    assert.ok(answer.includes('"token_type": "bearer"'), 'a bearer token came back');
    // The request went out as the urlencoded form.
    assert.match(await op.locator('.curl-command').innerText(), /application\/x-www-form-urlencoded/);
  });
});
