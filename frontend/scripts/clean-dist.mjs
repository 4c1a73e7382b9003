// Empties frontend/dist before a build but keeps dist/.gitkeep, which must stay
// in git so that `//go:embed all:dist` compiles before the first build.
import { mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
mkdirSync(dist, { recursive: true });
for (const name of readdirSync(dist)) {
  if (name === '.gitkeep') continue;
  rmSync(path.join(dist, name), { recursive: true, force: true });
}
const keep = path.join(dist, '.gitkeep');
if (!existsSync(keep)) writeFileSync(keep, '');
