// The query GraphiQL opens with (validated against the schema by scripts/graphql-types.mjs --check).
export const DEFAULT_QUERY = /* GraphQL */ `# Tesla GraphQL API. Ctrl-Enter runs the query; the Docs button shows the schema.
query Overview {
  me { person { login name } role authMethod }
  platform {
    clusterCount
    hostCounts { total online degraded offline maintenance repairing decommissioned }
    capacity { cpuCores memoryBytes }
  }
  clusters(first: 10, orderBy: { field: NAME }) {
    totalCount
    nodes {
      name kind region status
      stackVersion { version stack { name } }
      hostCounts { total online }
    }
  }
}
`;
