#!/usr/bin/env node
// ws-protocol.mjs — checks Tesla's websocket transport (graphql-transport-ws) with
// the real graphql-ws client that the web app and GraphiQL use: the close codes
// the client observes (they decide whether it retries), authentication in the
// connection_init payload, and a live subscription ended by a token revocation.
// Protocol violations that the client never commits (subscribe before the ack, a
// second connection_init, an unknown message type) are sent with a raw `ws`
// socket instead.
//
// Env:
//   TESLA_URL           the server, e.g. http://127.0.0.1:8080 (required)
//   TESLA_TOKEN         an ADMIN token: creates and revokes the tokens the checks use (required)
//   TESLA_INGEST_TOKEN  an ingest-scoped token, which the API must refuse (optional)
//   TESLA_WS_INIT_TIMEOUT_MS  the server's connection_init timeout (default 1000; the
//                       4408 check waits longer than this before initialising)
//
// Output: one line per check, then "N passed, N failed". Exit 0 when nothing
// failed, 1 otherwise, 2 on a usage error.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const BASE = (process.env.TESLA_URL ?? '').replace(/\/+$/, '');
const ADMIN = process.env.TESLA_TOKEN ?? '';
const INGEST = process.env.TESLA_INGEST_TOKEN ?? '';
const INIT_TIMEOUT_MS = Number(process.env.TESLA_WS_INIT_TIMEOUT_MS ?? 1000);
if (!BASE || !ADMIN) {
  console.error('usage: TESLA_URL=http://127.0.0.1:8080 TESLA_TOKEN=tsl_... node e2e/ws-protocol.mjs');
  process.exit(2);
}
const WS_URL = `${BASE.replace(/^http/, 'ws')}/query`;
const PROTOCOL = 'graphql-transport-ws';
const PULSE = 'subscription { platformPulse { at platform { hostCounts { total } } } }';
const CHECK_TIMEOUT_MS = 15_000;

let passed = 0;
let failed = 0;

async function check(name, fn) {
  let timer;
  try {
    const detail = await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no result within ${CHECK_TIMEOUT_MS / 1000}s`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    passed++;
    console.log(`ok   ${name}${detail ? ` — ${detail}` : ''}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name} — ${String(err?.message ?? err).split('\n')[0]}`);
  } finally {
    clearTimeout(timer);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function gql(query, variables = {}) {
  const res = await fetch(`${BASE}/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`${query.slice(0, 40)}…: ${body.errors[0].message}`);
  return body.data;
}

async function newToken(name) {
  const d = await gql('mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token apiToken { id } } }', {
    in: { name, role: 'VIEWER' },
  });
  return { token: d.createApiToken.token, id: d.createApiToken.apiToken.id };
}

/**
 * Runs graphql-ws clients made from `opts` (no retries), subscribes `count`
 * times to the pulse, and resolves with what the client observed once the socket
 * closes: {code, reason, ackPayload, acked, data}. `afterData` runs once the first
 * result has arrived (e.g. to revoke the token).
 */
function observe(opts, { count = 1, afterData } = {}) {
  return new Promise((resolve) => {
    const seen = { acked: false, ackPayload: undefined, data: 0 };
    let calledAfter = false;
    const client = createClient({
      url: WS_URL,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      shouldRetry: () => false,
      ...opts,
      on: {
        connected: (_socket, payload) => {
          seen.acked = true;
          seen.ackPayload = payload;
        },
        closed: (ev) => {
          resolve({ ...seen, code: ev?.code, reason: ev?.reason });
          // dispose() rejects with the close event when the connection failed.
          Promise.resolve(client.dispose()).catch(() => {});
        },
      },
    });
    for (let i = 0; i < count; i++) {
      client.subscribe(
        { query: PULSE },
        {
          next: () => {
            seen.data++;
            if (afterData && !calledAfter) {
              calledAfter = true;
              Promise.resolve(afterData()).catch((err) => resolve({ ...seen, code: 'afterData failed', reason: String(err) }));
            }
          },
          error: () => {},
          complete: () => {},
        },
      );
    }
  });
}

/** Opens a raw socket, sends `messages` one by one, and resolves with the close code. */
function raw(messages) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(WS_URL, PROTOCOL);
    ws.on('open', () => {
      for (const m of messages) ws.send(typeof m === 'string' ? m : JSON.stringify(m));
    });
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    ws.on('error', reject);
  });
}

function expectClose(got, code) {
  assert(got.code === code, `closed with ${got.code} (${got.reason || 'no reason'}), want ${code}`);
  return `closed ${got.code}${got.reason ? ` (${got.reason})` : ''}`;
}

const { token } = await newToken('ws-protocol');

/** Subscribes to the pulse with `connectionParams` and resolves with the ack payload once data arrives. */
async function firstData(connectionParams) {
  let client;
  try {
    return await new Promise((resolve, reject) => {
      let ackPayload;
      client = createClient({
        url: WS_URL,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams,
        on: {
          connected: (_s, payload) => {
            ackPayload = payload;
          },
          closed: (ev) => reject(new Error(`closed with ${ev?.code} (${ev?.reason})`)),
        },
      });
      client.subscribe(
        { query: PULSE },
        { next: (r) => (r.data ? resolve({ ackPayload }) : reject(new Error(JSON.stringify(r.errors)))), error: reject, complete: () => {} },
      );
    });
  } finally {
    await Promise.resolve(client?.dispose()).catch(() => {});
  }
}

await check('a valid token in connection_init: acknowledged without a payload, data arrives', async () => {
  const got = await firstData({ Authorization: `Bearer ${token}` });
  assert(got.ackPayload === undefined, `connection_ack carried a payload: ${JSON.stringify(got.ackPayload)}`);
});

await check('the Bearer scheme is case-insensitive in connection_init', async () => {
  await firstData({ authorization: `bearer ${token}` });
});

await check('a bad token: closed with 4403 Forbidden', async () =>
  expectClose(await observe({ connectionParams: { Authorization: 'Bearer tsl_nonsense' } }), 4403),
);

await check('no credentials at all: closed with 4403 Forbidden', async () => expectClose(await observe({}), 4403));

if (INGEST) {
  await check('an ingest-scoped token: closed with 4403 Forbidden', async () =>
    expectClose(await observe({ connectionParams: { Authorization: `Bearer ${INGEST}` } }), 4403),
  );
}

await check('connection_init later than the server waits: closed with 4408', async () =>
  expectClose(
    await observe({
      connectionParams: () => new Promise((r) => setTimeout(() => r({ Authorization: `Bearer ${token}` }), INIT_TIMEOUT_MS + 1500)),
    }),
    4408,
  ),
);

await check('two subscriptions with the same id: closed with 4409', async () =>
  expectClose(await observe({ connectionParams: { Authorization: `Bearer ${token}` }, generateID: () => 'same' }, { count: 2 }), 4409),
);

await check('revoking the token ends a live platformPulse subscription with 4403', async () => {
  const doomed = await newToken('ws-protocol-revoked');
  const got = await observe(
    { connectionParams: { Authorization: `Bearer ${doomed.token}` } },
    { afterData: () => gql('mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }', { id: doomed.id }) },
  );
  assert(got.data > 0, 'no pulse arrived before the revocation');
  return expectClose(got, 4403);
});

await check('subscribe before connection_ack (raw socket): closed with 4401', async () =>
  expectClose(await raw([{ id: '1', type: 'subscribe', payload: { query: PULSE } }]), 4401),
);

await check('a second connection_init (raw socket): closed with 4429', async () =>
  expectClose(
    await raw([
      { type: 'connection_init', payload: { authToken: token } },
      { type: 'connection_init', payload: { authToken: token } },
    ]),
    4429,
  ),
);

await check('an unknown message type (raw socket): closed with 4400', async () =>
  expectClose(await raw([{ type: 'connection_init', payload: { authToken: token } }, { type: 'start', id: '1' }]), 4400),
);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
