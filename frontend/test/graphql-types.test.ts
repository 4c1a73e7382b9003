// The generated GraphQL types are current and every document in src/ validates
// against graph/schema, so a schema change fails `npm test` as well as the build.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain Node script without type declarations
import { findDocuments, generate, loadSchema, validateDocuments } from '../scripts/graphql-types.mjs';

const src = path.resolve(import.meta.dirname, '..', 'src');
const schema = loadSchema();

describe('generated GraphQL types', () => {
  it('match graph/schema (run `npm run generate` when this fails)', () => {
    const { env, keys } = generate(schema);
    expect(readFileSync(path.join(src, 'graphql-env.d.ts'), 'utf8')).toBe(env);
    expect(readFileSync(path.join(src, 'graphql-keys.ts'), 'utf8')).toBe(keys);
  });
});

describe('GraphQL documents', () => {
  const docs = findDocuments(src) as Array<{ file: string; text: string }>;

  it('are found next to the pages, mutations and subscriptions included', () => {
    const names = docs.flatMap((d) => parse(d.text).definitions.map((def) => ('name' in def && def.name ? def.name.value : '')));
    for (const n of ['ClusterPage', 'Machine', 'ScreenPulse', 'SetHostState', 'SetWatermarkThreshold', 'CreateApiToken', 'RevokeApiToken', 'HostRowFields']) {
      expect(names).toContain(n);
    }
  });

  it('all validate against the schema', () => {
    expect(validateDocuments(schema, docs)).toEqual([]);
  });

  it('a field the schema does not have is reported with its file', () => {
    const errors = validateDocuments(schema, [{ file: 'src/pages/X.tsx', text: 'query X { platform { clusterCount noSuchField } }' }]);
    expect(errors).toEqual(['src/pages/X.tsx: Cannot query field "noSuchField" on type "Platform".']);
  });
});
