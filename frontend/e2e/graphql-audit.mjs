#!/usr/bin/env node
// graphql-audit.mjs — runs the GraphQL-over-HTTP conformance audits of the npm
// package graphql-http (serverAudits) against Tesla's /query endpoint.
//
// Env:
//   TESLA_URL    the GraphQL URL, e.g. http://127.0.0.1:8080/query (required; a
//                bare origin such as http://127.0.0.1:8080 gets /query appended).
//                The first command-line argument, if given, takes precedence.
//   TESLA_TOKEN  API token, sent as "Authorization: Bearer <token>" (optional but
//                needed when the endpoint requires authentication)
//   AUDIT_FAIL_ON     the lowest requirement level whose failures count: MUST,
//                SHOULD (default) or MAY. Tesla meets every MUST and SHOULD.
//   AUDIT_TIMEOUT_MS  per-request timeout (default 10000)
//
// Output: one line per audit that did not pass — "FAIL" for audits at or above
// AUDIT_FAIL_ON (and for audits that could not run at all), "tolerated" for the
// rest — with its reason; then exactly one line "N passed, N failed" where failed
// counts only the failures that count. Exit 0 when that is 0, 1 otherwise, 2 on a
// usage error. The same audits, for any server, are in the shared tool
// graphql-audit.mjs (its --fail-on=SHOULD is this script's default).

import { serverAudits } from 'graphql-http';

const LEVELS = ['MUST', 'SHOULD', 'MAY'];

let url = process.argv[2] ?? process.env.TESLA_URL ?? '';
const token = process.env.TESLA_TOKEN ?? '';
const timeoutMs = Number(process.env.AUDIT_TIMEOUT_MS ?? 10_000);
const failOn = (process.env.AUDIT_FAIL_ON ?? 'SHOULD').toUpperCase();
if (!LEVELS.includes(failOn)) {
  console.error(`AUDIT_FAIL_ON must be one of ${LEVELS.join(', ')}`);
  process.exit(2);
}
const gate = LEVELS.slice(0, LEVELS.indexOf(failOn) + 1);

try {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/query';
  url = u.toString();
} catch {
  console.error('usage: TESLA_URL=http://127.0.0.1:8080/query TESLA_TOKEN=tsl_... node e2e/graphql-audit.mjs');
  process.exit(2);
}

// The audits pass their own headers; ours (auth) go underneath so theirs win.
const fetchFn = (input, init = {}) => {
  const headers = new Headers();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  new Headers(init.headers ?? {}).forEach((v, k) => headers.set(k, v));
  return fetch(input, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
};

const levelOf = (name) => {
  const l = String(name).split(' ', 1)[0];
  return LEVELS.includes(l) ? l : 'MUST';
};

const audits = serverAudits({ url, fetchFn });
let passed = 0;
let failed = 0;
let tolerated = 0;
const byLevel = Object.fromEntries(LEVELS.map((l) => [l, { ok: 0, total: 0 }]));

// One at a time: a deterministic order and no burst of parallel requests.
for (const audit of audits) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http rethrows non-assertion errors (connection refused, timeouts).
    result = { id: audit.id, name: audit.name, status: 'fatal', reason: String(err?.cause?.code ?? err?.message ?? err) };
  }
  if (result.response && !result.response.bodyUsed) result.response.body?.cancel?.().catch(() => {});

  const level = levelOf(audit.name);
  byLevel[level].total++;
  if (result.status === 'ok') {
    passed++;
    byLevel[level].ok++;
    continue;
  }
  const counts = result.status === 'fatal' || gate.includes(level);
  if (counts) failed++;
  else tolerated++;
  const reason = String(result.reason ?? '').replace(/\s+/g, ' ').slice(0, 300);
  console.log(`${counts ? 'FAIL     ' : 'tolerated'} ${level.padEnd(6)} ${audit.id} ${audit.name}${reason ? `\n          reason: ${reason}` : ''}`);
}

console.log(
  `audited ${url}: ${audits.length} audits; ` +
    LEVELS.map((l) => `${l} ${byLevel[l].ok}/${byLevel[l].total}`).join(', ') +
    ` passed; ${tolerated} failures below ${failOn} tolerated`,
);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
