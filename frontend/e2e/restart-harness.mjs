#!/usr/bin/env node
// restart-harness.mjs — runs e2e/screen.e2e.mjs with TESLA_RESTART=1 against
// the mock server and plays the server side of the restart protocol, the way
// the Go test harness does with the real binary: on the script's "RESTART-NOW"
// line it stops the mock (SIGTERM: every connection dropped at once), waits
// MOCK_DOWN_MS, starts a new mock on the same port with the same state file (the
// mock's "database": the browser's session survives), and writes "RESTARTED" to
// the script's stdin.
//
// Usage: npm run build && node e2e/restart-harness.mjs [--port 8097]
//   env MOCK_DOWN_MS (default 4000), MOCK_PULSE_MS (default 3000), E2E_ARTIFACTS
// The script's output is passed through unchanged (its last line stays
// "N passed, N failed"); the harness's own notes go to stderr. Exit code: the
// script's, or 1 when the mock could not be (re)started.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const portArg = process.argv.indexOf('--port');
const PORT = Number(portArg > 0 ? process.argv[portArg + 1] : 8097);
const DOWN_MS = Number(process.env.MOCK_DOWN_MS ?? 4000);
const TOKEN = 'tsl_mock_admin';
const stateDir = mkdtempSync(path.join(tmpdir(), 'tesla-mock-'));
const env = { ...process.env, MOCK_TOKEN: TOKEN, MOCK_STATE_FILE: path.join(stateDir, 'state.json'), MOCK_PULSE_MS: process.env.MOCK_PULSE_MS ?? '3000' };
const note = (m) => process.stderr.write(`# harness: ${m}\n`);

function startMock() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'mock-server.mjs'), '--port', String(PORT)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => reject(new Error('mock did not start within 15s')), 15_000);
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      if (/^mock listening/.test(l)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mock exited with ${code}`));
    });
  });
}

function stopMock(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null) return resolve();
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 3000).unref();
  });
}

let mock;
try {
  mock = await startMock();
} catch (err) {
  note(`cannot start the mock: ${err.message}`);
  process.exit(1);
}
note(`mock on 127.0.0.1:${PORT} (pid ${mock.pid})`);

const script = spawn(process.execPath, [path.join(here, 'screen.e2e.mjs')], {
  env: { ...process.env, TESLA_URL: `http://127.0.0.1:${PORT}`, TESLA_TOKEN: TOKEN, TESLA_RESTART: '1' },
  stdio: ['pipe', 'pipe', 'inherit'],
});

readline.createInterface({ input: script.stdout }).on('line', async (line) => {
  console.log(line);
  if (line !== 'RESTART-NOW') return;
  note('stopping the mock');
  await stopMock(mock);
  note(`down for ${DOWN_MS} ms`);
  await new Promise((r) => setTimeout(r, DOWN_MS));
  try {
    mock = await startMock();
    note(`mock restarted (pid ${mock.pid})`);
    script.stdin.write('RESTARTED\n');
  } catch (err) {
    note(`cannot restart the mock: ${err.message}`);
    script.kill('SIGTERM');
  }
});

script.on('close', async (code) => {
  await stopMock(mock);
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(code ?? 1);
});
