// gql.tada: every document passed to graphql() is typed from src/graphql-env.d.ts,
// which scripts/graphql-types.mjs generates from graph/schema/*.graphqls. Pages
// keep their documents next to them; shared selections are fragments here and
// in the components that render them. Fragment masking is off: a fragment's
// fields appear directly in the result type of the document that spreads it.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from '../graphql-env';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  disableMasking: true;
  scalars: {
    Time: string;
    Duration: string;
    Decimal: string;
    JSON: unknown;
  };
}>();

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';

/** An enum of the schema as a TypeScript union, e.g. Enum<'HostState'>. */
export type Enum<Name extends string> = ReturnType<typeof graphql.scalar<Name>>;

export type HostState = Enum<'HostState'>;
export type ClusterKind = Enum<'ClusterKind'>;
export type ClusterStatus = Enum<'ClusterStatus'>;
export type OrderDirection = Enum<'OrderDirection'>;
export type AuditOutcome = Enum<'AuditOutcome'>;
export type Role = Enum<'Role'>;
export type ThresholdKind = Enum<'ThresholdKind'>;
/** The one spelling of a water-level dimension: the schema's enum. */
export type WatermarkDimension = Enum<'WatermarkDimension'>;
export type WatermarkStatus = Enum<'WatermarkStatus'>;
export type MachineFeature = Enum<'MachineFeature'>;
