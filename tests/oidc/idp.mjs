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
//
// Clients (client_secret_basic):
//   app / app-secret     client_credentials, scopes items:read items:write admin
//   roles / roles-secret client_credentials; its tokens also carry realm_access.roles ["admin"]
//                        (as Keycloak writes roles) and scp ["items:write"] (as Okta writes scopes)
//   api / api-secret     no grant: the resource server, for introspection
//
// Resource indicators (RFC 8707), each a resource server with its token format:
//   https://api.example.test            JWT (RS256), the API under test
//   https://<alg>.example.test          JWT signed with <alg>, for each of --algs (e.g. ps256)
//   https://other.example.test          JWT (RS256), another API: a wrong audience for ours
//   https://short.example.test          JWT (RS256) living 1 s
//   https://opaque.example.test         opaque, for introspection
//   https://opaque-short.example.test   opaque, living 2 s
import { generateKeyPairSync, randomBytes } from 'node:crypto';
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
const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [client('app'), client('roles'), client('api', { grant_types: [], scope: undefined })],
  scopes: SCOPES.split(' '),
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

let jwksFetches = 0;
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/jwks-fetches') {
    ctx.body = { count: jwksFetches };
    return;
  }
  if (ctx.path === '/jwks' && ctx.method === 'GET') {
    jwksFetches += 1;
  }
  await next();
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
