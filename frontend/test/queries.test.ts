// Every GraphQL document the app sends must validate against the schema the Go
// backend serves (graph/schema/*.graphqls), so schema drift fails here first.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import * as queries from '../src/lib/queries';
import * as telemetryQueries from '../src/lib/telemetryQueries';
import { DEFAULT_QUERY } from '../src/graphiql/defaultQuery';

const schemaDir = path.resolve(import.meta.dirname, '..', '..', 'graph', 'schema');
const files = existsSync(schemaDir) ? readdirSync(schemaDir).filter((f) => /\.graphqls?$/.test(f)) : [];

const documents = Object.entries({ ...queries, ...telemetryQueries, GRAPHIQL_DEFAULT_QUERY: DEFAULT_QUERY }).filter(
  (e): e is [string, string] => typeof e[1] === 'string' && /^\s*(#[^\n]*\n\s*)*(query|mutation|subscription)\b/.test(e[1]),
);

describe.skipIf(files.length === 0)('GraphQL documents', () => {
  const schema = buildSchema(files.map((f) => readFileSync(path.join(schemaDir, f), 'utf8')).join('\n'));

  it('finds the documents', () => {
    expect(documents.map(([n]) => n).sort()).toEqual([
      'AUDIT_LOG',
      'CLUSTERS_OVERVIEW',
      'CLUSTER_PAGE',
      'CLUSTER_WATERMARK_LIVE',
      'GRAPHIQL_DEFAULT_QUERY',
      'HOST_METRICS',
      'MACHINE',
      'MACHINE_ANALYSIS',
      'MACHINE_SEARCH',
      'SCHEDULER_JOBS',
      'SCREEN_INITIAL',
      'SCREEN_PULSE',
      'SCREEN_TREND',
      'STACKS',
      'WATERMARKS_OVERVIEW',
      'WATERMARKS_PULSE',
      'WATERMARK_DETAIL',
    ]);
  });

  it.each(documents)('%s validates against the schema', (_name, doc) => {
    const errors = validate(schema, parse(doc)).map((e) => e.message);
    expect(errors).toEqual([]);
  });
});
