// examples/users' social login in headless Chromium, as a person clicks through it: the "Sign in
// with OpenID" button, the provider's login and consent pages (panva's oidc-provider,
// tests/oidc/idp.mjs), the callback, the session cookie, then /users/me. Run by social_login.sh,
// which starts the provider and the example (with OAUTH_ASSOCIATE_BY_EMAIL=1).
//
//   BASE_URL=http://127.0.0.1:8003 IDP_URL=http://127.0.0.1:4000 node --test social_login.test.mjs
//
// Covered: a new user, a returning user (another browser), linking by verified e-mail, refusing
// an unverified e-mail, and linking a second provider account to a logged-in user.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE_URL = (process.env.BASE_URL ?? '').replace(/\/+$/, '');
const IDP_URL = (process.env.IDP_URL ?? '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT_DIR = process.env.OUT_DIR ?? path.join(HERE, 'out');
const STEP_TIMEOUT_MS = 30_000;

if (!BASE_URL || !IDP_URL) {
  throw new Error('set BASE_URL (examples/users with OAUTH_*) and IDP_URL (tests/oidc/idp.mjs)');
}
const ALLOWED = new Set([new URL(BASE_URL).origin, new URL(IDP_URL).origin]);

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const unique = () => randomBytes(4).toString('hex');

/** One browser; each `open()` a context of its own (another person's browser, no shared cookies). */
async function withBrowser(t, fn) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const external = [];
  const pages = [];
  const open = async () => {
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (ALLOWED.has(new URL(url).origin)) return route.continue();
      external.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    pages.push(page);
    return page;
  };
  try {
    await fn(open);
    assert.deepEqual(external, [], 'no request leaves the app and the provider');
  } catch (error) {
    await mkdir(OUT_DIR, { recursive: true });
    for (const [i, page] of pages.entries()) {
      await page.screenshot({ path: path.join(OUT_DIR, `social-login-${t.name.replace(/\W+/g, '-')}-${i}.png`) }).catch(() => {});
    }
    throw error;
  } finally {
    await browser.close();
  }
}

/** The provider's pages: the login form (when the provider has no session), then consent (when asked). */
async function atTheProvider(page, account) {
  await page.waitForLoadState();
  if (new URL(page.url()).origin !== new URL(IDP_URL).origin) return;
  if (await page.locator('input[name="login"]').count()) {
    await page.fill('input[name="login"]', account.login);
    if (account.email) await page.fill('input[name="email"]', account.email);
    await page.setChecked('input[name="email_verified"]', account.emailVerified);
    await Promise.all([page.waitForEvent('framenavigated'), page.click('button[type="submit"]')]);
    await page.waitForLoadState();
  }
  if (new URL(page.url()).origin === new URL(IDP_URL).origin && (await page.getByRole('button', { name: 'Allow' }).count())) {
    await Promise.all([page.waitForEvent('framenavigated'), page.getByRole('button', { name: 'Allow' }).click()]);
  }
  await page.waitForLoadState();
}

/** The whole walk from the app's page; resolves on the page the app shows afterwards. */
async function signIn(page, account) {
  await page.goto(`${BASE_URL}/`);
  // The next page is the provider's, or (with its session and grant) already the app's again.
  await Promise.all([page.waitForEvent('framenavigated'), page.getByRole('button', { name: 'Sign in with OpenID' }).click()]);
  await atTheProvider(page, account);
  await page.waitForURL((url) => url.origin === new URL(BASE_URL).origin);
  await page.waitForLoadState('networkidle');
}

async function me(page) {
  return page.evaluate(async () => {
    const response = await fetch('/users/me');
    return { status: response.status, body: await response.json() };
  });
}

async function register(page, email) {
  return page.evaluate(async (email) => {
    const response = await fetch('/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'a long enough password' }),
    });
    return { status: response.status, body: await response.json() };
  }, email);
}

test('a new user signs up with the provider, and comes back from another browser', async (t) => {
  await withBrowser(t, async (open) => {
    const account = { login: `new-${unique()}`, email: `new-${unique()}@example.com`, emailVerified: true };
    const page = await open();
    await signIn(page, account);
    assert.equal(new URL(page.url()).pathname, '/', 'the callback sends the browser back to the page');
    await page.getByText(`Signed in as ${account.email}.`).waitFor();
    const cookies = await page.context().cookies(BASE_URL);
    assert.ok(cookies.some((c) => c.name === 'fastapiusersauth' && c.httpOnly), JSON.stringify(cookies));
    assert.ok(!cookies.some((c) => c.name === 'fastapiusersoauthcsrf'), 'the CSRF cookie is cleared');
    const first = await me(page);
    assert.equal(first.status, 200);
    assert.equal(first.body.email, account.email);

    const other = await open();
    await signIn(other, account);
    await other.getByText(`Signed in as ${account.email}.`).waitFor();
    assert.equal((await me(other)).body.id, first.body.id, 'the returning user is the same user');
  });
});

test('a verified provider e-mail links to the existing user; an unverified one is refused', async (t) => {
  await withBrowser(t, async (open) => {
    const page = await open();
    await page.goto(`${BASE_URL}/`);
    const email = `carol-${unique()}@example.com`;
    const registered = await register(page, email);
    assert.equal(registered.status, 201);

    const unverified = await open();
    await signIn(unverified, { login: `fake-${unique()}`, email, emailVerified: false });
    assert.match(await unverified.content(), /OAUTH_USER_ALREADY_EXISTS/);
    assert.equal((await me(unverified)).status, 401);

    const verified = await open();
    await signIn(verified, { login: `carol-${unique()}`, email, emailVerified: true });
    await verified.getByText(`Signed in as ${email}.`).waitFor();
    assert.equal((await me(verified)).body.id, registered.body.id);
  });
});

test('a logged-in user links a second provider account', async (t) => {
  await withBrowser(t, async (open) => {
    const page = await open();
    const account = { login: `erin-${unique()}`, email: `erin-${unique()}@example.com`, emailVerified: true };
    await signIn(page, account);
    const erin = await me(page);
    assert.equal(erin.status, 200);

    // The page's own script could offer it; here the test asks as such a button would, then
    // signs in at the provider as another account (the provider's session ended first).
    // (Both listen on 127.0.0.1, whose cookies a browser does not tell apart by port; the
    // provider's are the ones named `_…`.)
    await page.context().clearCookies({ name: /^_/ });
    const url = await page.evaluate(async () => (await (await fetch('/auth/associate/oidc/authorize')).json()).authorization_url);
    await page.goto(url);
    const second = { login: `erin-work-${unique()}`, email: `erin-work-${unique()}@example.com`, emailVerified: true };
    await atTheProvider(page, second);
    await page.waitForURL((u) => u.pathname === '/auth/associate/oidc/callback');
    const linked = JSON.parse(await page.locator('body').innerText());
    assert.equal(linked.id, erin.body.id);

    const elsewhere = await open();
    await signIn(elsewhere, second);
    await elsewhere.getByText(`Signed in as ${account.email}.`).waitFor();
    assert.equal((await me(elsewhere)).body.id, erin.body.id, 'the second account signs Erin in');
  });
});
