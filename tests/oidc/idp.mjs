// auth-core's test identity provider: panva's oidc-provider, a certified OpenID Provider, on
// loopback, configured as a resource server's tests need it.
//
//   node idp.mjs --port 4000 [--algs RS256,PS256,ES256] [--jwks-max-age 300]
//
// Every start generates fresh keys with fresh `kid`s: restarting it on the same port is a key
// rotation. When its stdin is a pipe (a test process started it), it exits when the pipe closes,
// so it never outlives that process; otherwise (a terminal, /dev/null, a script's background
// job) it never reads stdin and runs until SIGTERM or SIGINT. When it listens it prints one line
// on stdout:
//   ready {"issuer":"http://127.0.0.1:4000","kids":{"RS256":"…",…}}
//
// What it serves (besides the standard endpoints: discovery, /jwks, /token, /token/introspection,
// /token/revocation):
//   GET /test/jwks-fetches   {"count": n}, the GET /jwks requests served so far
//   POST /test/tamper-id-token  a JSON object of claims: the next ID token the token endpoint
//                        issues has them overwritten, and is signed again with the provider's
//                        own key (a valid signature over claims a client must refuse, e.g.
//                        another `aud` or `nonce`)
//
// Clients (client_secret_basic):
//   app / app-secret     client_credentials, scopes items:read items:write admin
//   roles / roles-secret client_credentials; its tokens also carry realm_access.roles ["admin"]
//                        (as Keycloak writes roles) and scp ["items:write"] (as Okta writes scopes)
//   api / api-secret     no grant: the resource server, for introspection
//   web / web-secret     authorization code with PKCE (required), scopes openid email: social
//                        login ("Sign in with …"). A native client, so its loopback redirect URIs
//                        http://127.0.0.1/auth/oidc/callback and …/auth/associate/oidc/callback
//                        (and the same on localhost) match on any port (RFC 8252 §7.3).
//   web2 / web2-secret   the same, another client: its ID tokens are not for `web`
//   web-refresh / web-refresh-secret  the same, with refresh tokens (rotated at every use)
//   legacy / legacy-secret  the same without requiring PKCE: fastapi-users' OAuth router (which
//                        sends no challenge) in the social login differential
//
// Logging in (authorization code flow), without devInteractions, as a browser or a test does it:
//   GET  /interaction/<uid>          a small HTML page: the login form, or the consent form
//   POST /interaction/<uid>/login    form `login` (the account's `sub`), optional `email` and
//                                    `email_verified` ("true"/"false"): the account's claims
//                                    from now on (no `email`: the account has none); with
//                                    `email_at=userinfo`, the e-mail claims are left out of its
//                                    ID tokens and answered at the userinfo endpoint only
//   POST /interaction/<uid>/confirm  grants what the client asked for
// Each answers 303 to where the flow goes on. ID tokens carry `email` and `email_verified`.
//
// Resource indicators (RFC 8707), each a resource server with its token format:
//   https://api.example.test            JWT (RS256), the API under test
//   https://<alg>.example.test          JWT signed with <alg>, for each of --algs (e.g. ps256)
//   https://other.example.test          JWT (RS256), another API: a wrong audience for ours
//   https://short.example.test          JWT (RS256) living 1 s
//   https://opaque.example.test         opaque, for introspection
//   https://opaque-short.example.test   opaque, living 2 s
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    algs: { type: 'string', default: 'RS256' },
    'jwks-max-age': { type: 'string' },
  },
});
const port = Number(args.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node idp.mjs --port <port> [--algs RS256,PS256,…] [--jwks-max-age <s>]');
  process.exit(2);
}

// One key per algorithm, so that the published key set carries each key's `alg`.
const KEY_TYPES = {
  RS256: ['rsa', { modulusLength: 2048 }],
  RS384: ['rsa', { modulusLength: 2048 }],
  RS512: ['rsa', { modulusLength: 2048 }],
  PS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  ES384: ['ec', { namedCurve: 'P-384' }],
  EdDSA: ['ed25519', {}],
};
const algs = [...new Set(['RS256', ...args.algs.split(',').filter(Boolean)])];
const generation = randomBytes(4).toString('hex');
const kids = {};
const keys = algs.map((alg) => {
  if (!KEY_TYPES[alg]) {
    console.error(`unknown algorithm ${alg}`);
    process.exit(2);
  }
  const [type, options] = KEY_TYPES[alg];
  const { privateKey } = generateKeyPairSync(type, options);
  kids[alg] = `${alg.toLowerCase()}-${generation}`;
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: kids[alg] };
});

const SCOPES = 'items:read items:write admin';
const jwt = (alg, extra = {}) => ({ scope: SCOPES, accessTokenFormat: 'jwt', jwt: { sign: { alg } }, ...extra });
const resources = {
  'https://api.example.test': jwt('RS256'),
  'https://other.example.test': jwt('RS256'),
  'https://short.example.test': jwt('RS256', { accessTokenTTL: 1 }),
  'https://opaque.example.test': { scope: SCOPES, accessTokenFormat: 'opaque' },
  'https://opaque-short.example.test': { scope: SCOPES, accessTokenFormat: 'opaque', accessTokenTTL: 2 },
};
for (const alg of algs) {
  resources[`https://${alg.toLowerCase()}.example.test`] = jwt(alg);
}

const issuer = `http://127.0.0.1:${port}`;
const client = (id, extra = {}) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: SCOPES,
  ...extra,
});
const LOGIN_SCOPES = 'openid email';
const loginClient = (id, grantTypes = ['authorization_code']) =>
  client(id, {
    grant_types: grantTypes,
    response_types: ['code'],
    application_type: 'native',
    redirect_uris: ['127.0.0.1', 'localhost'].flatMap((host) => [
      `http://${host}/auth/oidc/callback`,
      `http://${host}/auth/associate/oidc/callback`,
    ]),
    scope: LOGIN_SCOPES,
  });
// Accounts as the login form described them: sub -> { email, email_verified }.
const accounts = new Map();
const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [
    client('app'),
    client('roles'),
    client('api', { grant_types: [], scope: undefined }),
    loginClient('web'),
    loginClient('web2'),
    loginClient('legacy'),
    loginClient('web-refresh', ['authorization_code', 'refresh_token']),
  ],
  // `web-refresh` gets refresh tokens without `offline_access`, rotated at every use; a rotated
  // one used again revokes the grant (oidc-provider's reuse detection).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  scopes: [...SCOPES.split(' '), ...LOGIN_SCOPES.split(' ')],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // The e-mail claims go into the ID token itself, not only to the userinfo endpoint.
  conformIdTokenClaims: false,
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async (use) => {
      const { userinfoOnly, ...claims } = accounts.get(sub) ?? {};
      return use === 'id_token' && userinfoOnly ? { sub } : { sub, ...claims };
    },
  }),
  pkce: { required: (ctx, client) => client.clientId.startsWith('web') },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (ctx, resource) => {
        const info = resources[resource];
        if (!info) {
          throw new Provider.errors.InvalidTarget();
        }
        return info;
      },
    },
  },
  extraTokenClaims: async (ctx, token) =>
    token.clientId === 'roles' ? { realm_access: { roles: ['admin'] }, scp: ['items:write'] } : undefined,
});

const readForm = async (req) => {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) {
      break;
    }
  }
  return new URLSearchParams(body);
};
const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// The login and consent pages, and what their forms post.
const interaction = async (ctx, uid, action) => {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) {
    ctx.status = 400;
    ctx.body = { error: 'interaction mismatch' };
    return;
  }
  const { prompt, params, session } = details;
  if (ctx.method === 'GET' && action === undefined) {
    ctx.type = 'html';
    ctx.body =
      prompt.name === 'login'
        ? `<!doctype html><title>Sign in</title><h1>Sign in to ${escapeHtml(params.client_id)}</h1>
<form method="post" action="/interaction/${uid}/login">
<label>Account <input name="login" required></label>
<label>E-mail <input name="email" type="email"></label>
<label><input name="email_verified" type="checkbox" value="true" checked> e-mail verified</label>
<button type="submit">Sign in</button></form>`
        : `<!doctype html><title>Consent</title><h1>Allow ${escapeHtml(params.client_id)}?</h1>
<p>Scopes: ${escapeHtml(params.scope)}</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>`;
    return;
  }
  let result;
  if (ctx.method === 'POST' && action === 'login' && prompt.name === 'login') {
    const form = await readForm(ctx.req);
    const login = form.get('login');
    if (!login) {
      ctx.status = 400;
      ctx.body = { error: 'login is required' };
      return;
    }
    const email = form.get('email');
    accounts.set(
      login,
      email
        ? {
            email,
            email_verified: form.get('email_verified') === 'true',
            userinfoOnly: form.get('email_at') === 'userinfo',
          }
        : {},
    );
    result = { login: { accountId: login } };
  } else if (ctx.method === 'POST' && action === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) {
      grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    }
    if (missing.missingOIDCClaims) {
      grant.addOIDCClaims(missing.missingOIDCClaims);
    }
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    ctx.status = 400;
    ctx.body = { error: `cannot ${ctx.method} ${action ?? 'the page'} at prompt ${prompt.name}` };
    return;
  }
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.redirect(redirectTo);
  ctx.status = 303;
};

// Claims to overwrite in the next ID token (POST /test/tamper-id-token), and the key to sign it.
let tamper;
const rs256Key = createPrivateKey({ key: keys.find((key) => key.alg === 'RS256'), format: 'jwk' });
const resign = (idToken, claims) => {
  const [header, payload] = idToken.split('.');
  const patched = { ...JSON.parse(Buffer.from(payload, 'base64url')), ...claims };
  const signingInput = `${header}.${Buffer.from(JSON.stringify(patched)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(signingInput), rs256Key).toString('base64url');
  return `${signingInput}.${signature}`;
};

let jwksFetches = 0;
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/jwks-fetches') {
    ctx.body = { count: jwksFetches };
    return;
  }
  if (ctx.path === '/test/tamper-id-token' && ctx.method === 'POST') {
    let body = '';
    for await (const chunk of ctx.req) {
      body += chunk;
    }
    tamper = JSON.parse(body);
    ctx.status = 204;
    return;
  }
  const interactionPath = /^\/interaction\/([^/]+)(?:\/(login|confirm))?$/.exec(ctx.path);
  if (interactionPath) {
    await interaction(ctx, interactionPath[1], interactionPath[2]);
    return;
  }
  if (ctx.path === '/jwks' && ctx.method === 'GET') {
    jwksFetches += 1;
  }
  await next();
  if (ctx.path === '/token' && tamper && typeof ctx.body?.id_token === 'string') {
    ctx.body = { ...ctx.body, id_token: resign(ctx.body.id_token, tamper) };
    tamper = undefined;
  }
  if (ctx.path === '/jwks' && args['jwks-max-age'] !== undefined) {
    ctx.set('Cache-Control', `public, max-age=${Number(args['jwks-max-age'])}`);
  }
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${JSON.stringify({ issuer, kids })}\n`);
});
server.on('error', (error) => {
  console.error(`idp: ${error.message}`);
  process.exit(1);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
// Output is for people; a reader that went away is no reason to stop serving.
process.stdout.on('error', () => {});
// A test harness holds our stdin, a pipe, open; when it goes away, so do we. Any other stdin is
// left alone: a background job reading a terminal would be stopped (SIGTTIN), and /dev/null (a
// script's background job) would end at once.
let stdinIsPipe = false;
try {
  stdinIsPipe = fstatSync(0).isFIFO();
} catch {
  // No stdin at all: nothing to watch.
}
if (stdinIsPipe) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
