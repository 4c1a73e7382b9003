// Administration → Clusters & enrollment: the clusters (retired ones too), and
// for an ADMIN a form to create one, per cluster an edit form and retirement
// (refused while it has hosts that are not decommissioned; the server says how
// many). Operators and admins create enrollment tokens for a cluster: the
// secret is shown once, with the `tesla agent` command line that uses it.
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ClusterKind, type ClusterStatus, type ResultOf } from '../graphql';
import { PageInfoFields } from '../graphql/fragments';
import { useCan, useDebounced } from '../lib/hooks';
import { agentCommand } from '../lib/admin';
import { formatDate, formatDateTime, formatNumber, humanizeEnum } from '../lib/format';
import { STATUS_TONE } from '../lib/colors';
import { formErrors, type FormErrors } from '../lib/mutation';
import { pageVariables, positionFor, type PagerPosition } from '../lib/paging';
import { EnumBadge, ErrorPanel, Link, Loading, ListingPager, Panel, SecretBox } from '../components/ui';
import { AdminGate, BUSelect, Field, FormAlert, useAdminContext, type AdminBU } from '../components/admin';

const ClusterFields = graphql(`
  fragment AdminClusterFields on Cluster {
    id
    name
    region
    kind
    status
    description
    createdAt
    ownerBu {
      id
      code
      name
    }
    stackVersion {
      id
      version
      stack {
        name
      }
    }
    hostCounts {
      total
      decommissioned
    }
  }
`);

export const AdminClustersQuery = graphql(
  `
    query AdminClusters($first: Int, $after: String, $last: Int, $before: String, $filter: ClusterFilter) {
      clusters(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: { field: NAME, direction: ASC }) {
        totalCount
        pageInfo {
          ...PageInfoFields
        }
        nodes {
          ...AdminClusterFields
        }
      }
      stacks(first: 50) {
        nodes {
          id
          name
          versions {
            id
            version
          }
        }
      }
    }
  `,
  [PageInfoFields, ClusterFields],
);

export const CreateCluster = graphql(
  `
    mutation CreateCluster($input: CreateClusterInput!) {
      createCluster(input: $input) {
        cluster {
          ...AdminClusterFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [ClusterFields],
);

export const UpdateCluster = graphql(
  `
    mutation UpdateCluster($input: UpdateClusterInput!) {
      updateCluster(input: $input) {
        cluster {
          ...AdminClusterFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [ClusterFields],
);

export const RetireCluster = graphql(
  `
    mutation RetireCluster($input: RetireClusterInput!) {
      retireCluster(input: $input) {
        cluster {
          ...AdminClusterFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [ClusterFields],
);

export const CreateEnrollmentToken = graphql(`
  mutation CreateEnrollmentToken($input: CreateEnrollmentTokenInput!) {
    createEnrollmentToken(input: $input) {
      apiToken {
        id
        name
        expiresAt
      }
      token
      userErrors {
        field
        message
        code
      }
    }
  }
`);

type Cluster = ResultOf<typeof ClusterFields>;
type Stacks = ResultOf<typeof AdminClustersQuery>['stacks']['nodes'];
type Tree = ReadonlyArray<{ bu: AdminBU; depth: number }>;

const PAGE_SIZE = 50;
const KINDS: ClusterKind[] = ['BATCH', 'STREAMING', 'ONLINE'];
const STATUSES: ClusterStatus[] = ['ACTIVE', 'UPGRADING', 'DEGRADED', 'MAINTENANCE', 'RETIRED'];
/** Lifetimes offered for an enrollment token (the server allows at most 90 days). */
const ENROLL_LIFETIMES = [
  { value: '24h', label: '1 day' },
  { value: '168h', label: '7 days' },
  { value: '720h', label: '30 days' },
  { value: '2160h', label: '90 days' },
];

function StackSelect({ stacks, value, onChange, testId }: { stacks: Stacks; value: string; onChange: (v: string) => void; testId: string }) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} aria-label="Stack version" data-testid={testId}>
      <option value="">— none —</option>
      {stacks.map((s) => (
        <optgroup key={s.id} label={s.name}>
          {s.versions.map((v) => (
            <option key={v.id} value={v.id}>
              {s.name} {v.version}
            </option>
          ))}
        </optgroup>
      ))}
    </select>
  );
}

/** The fields of a cluster, for creating one or editing one (only changed fields are sent). */
function ClusterForm({
  cluster,
  tree,
  stacks,
  onSaved,
  onCancel,
}: {
  cluster?: Cluster;
  tree: Tree;
  stacks: Stacks;
  onSaved: (name: string) => void;
  onCancel?: () => void;
}) {
  const [name, setName] = useState(cluster?.name ?? '');
  const [region, setRegion] = useState(cluster?.region ?? '');
  const [kind, setKind] = useState<ClusterKind>(cluster?.kind ?? 'BATCH');
  const [ownerBuId, setOwnerBuId] = useState(cluster?.ownerBu?.id ?? '');
  const [stackVersionId, setStackVersionId] = useState(cluster?.stackVersion?.id ?? '');
  const [description, setDescription] = useState(cluster?.description ?? '');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [{ fetching: creating }, create] = useMutation(CreateCluster);
  const [{ fetching: updating }, update] = useMutation(UpdateCluster);
  const fields = ['name', 'region', 'kind', 'ownerBuId', 'stackVersionId', 'description'];
  const prefix = cluster ? 'cluster-edit' : 'cluster';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let errs: FormErrors | null;
    if (!cluster) {
      const res = await create({
        input: {
          name: name.trim(),
          region: region.trim(),
          kind,
          ...(ownerBuId ? { ownerBuId } : {}),
          ...(stackVersionId ? { stackVersionId } : {}),
          ...(description.trim() ? { description: description.trim() } : {}),
        },
      });
      errs = formErrors(res, (d) => d.createCluster, fields);
    } else {
      const input = {
        id: cluster.id,
        ...(name.trim() !== cluster.name ? { name: name.trim() } : {}),
        ...(region.trim() !== cluster.region ? { region: region.trim() } : {}),
        ...(kind !== cluster.kind ? { kind } : {}),
        ...(ownerBuId && ownerBuId !== cluster.ownerBu?.id ? { ownerBuId } : {}),
        ...(stackVersionId && stackVersionId !== cluster.stackVersion?.id ? { stackVersionId } : {}),
        ...(description.trim() !== cluster.description ? { description: description.trim() } : {}),
      };
      errs = formErrors(await update({ input }), (d) => d.updateCluster, fields);
    }
    setErrors(errs);
    if (errs) return;
    onSaved(name.trim());
    if (!cluster) {
      setName('');
      setDescription('');
    }
  };

  return (
    <form className="admin-form" onSubmit={submit} data-testid={`${prefix}-form`}>
      <Field label="Name" name="name" errors={errors}>
        <input type="text" value={name} onChange={(e) => setName(e.target.value)} required data-testid={`${prefix}-name`} />
      </Field>
      <Field label="Region" name="region" errors={errors}>
        <input type="text" value={region} onChange={(e) => setRegion(e.target.value)} required className="narrow" data-testid={`${prefix}-region`} />
      </Field>
      <Field label="Kind" name="kind" errors={errors}>
        <select value={kind} onChange={(e) => setKind(e.target.value as ClusterKind)} aria-label="Kind" data-testid={`${prefix}-kind`}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {humanizeEnum(k)}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Owner BU" name="ownerBuId" errors={errors}>
        <BUSelect tree={tree} value={ownerBuId} onChange={setOwnerBuId} label="Owner BU" empty={cluster?.ownerBu ? undefined : '— none —'} testId={`${prefix}-owner`} />
      </Field>
      <Field label="Stack version" name="stackVersionId" errors={errors}>
        <StackSelect stacks={stacks} value={stackVersionId} onChange={setStackVersionId} testId={`${prefix}-stack`} />
      </Field>
      <Field label="Description" name="description" errors={errors} wide>
        <input type="text" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} data-testid={`${prefix}-description`} />
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={creating || updating} data-testid={`${prefix}-save`}>
          {cluster ? 'Save' : 'Create cluster'}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <FormAlert errors={errors} />
    </form>
  );
}

function RetireClusterForm({ cluster, onClose }: { cluster: Cluster; onClose: () => void }) {
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [{ fetching }, retire] = useMutation(RetireCluster);
  const live = cluster.hostCounts.total - cluster.hostCounts.decommissioned;
  return (
    <form
      className="admin-form"
      data-testid="cluster-retire-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const errs = formErrors(await retire({ input: { id: cluster.id, ...(reason.trim() ? { reason: reason.trim() } : {}) } }), (d) => d.retireCluster, ['reason']);
        setErrors(errs);
        if (!errs) onClose();
      }}
    >
      <span>
        Retire <strong>{cluster.name}</strong>?{' '}
        {live > 0 && <span className="warn-text">It still has {formatNumber(live)} hosts that are not decommissioned: retire or move them first.</span>}
      </span>
      <Field label="Reason" name="reason" errors={errors}>
        <input type="text" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} data-testid="cluster-retire-reason" />
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-danger" disabled={fetching} data-testid="cluster-retire-confirm">
          Retire {cluster.name}
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Keep
        </button>
      </div>
      <FormAlert errors={errors} />
    </form>
  );
}

function EnrollmentForm({ cluster, onClose }: { cluster: Cluster; onClose: () => void }) {
  const [name, setName] = useState('');
  const [lifetime, setLifetime] = useState('168h');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [secret, setSecret] = useState<{ token: string; expiresAt: string | null } | null>(null);
  const [{ fetching }, create] = useMutation(CreateEnrollmentToken);

  if (secret) {
    const command = agentCommand(window.location.origin, secret.token);
    return (
      <SecretBox
        testId="enroll"
        title={
          <>
            Enrollment token for {cluster.name} created{secret.expiresAt ? `, valid until ${formatDateTime(secret.expiresAt)}` : ''}. Copy it now: it is shown only this once.
          </>
        }
        secret={secret.token}
        onDone={onClose}
      >
        <div className="muted small">On each host to enroll, run:</div>
        <code className="secret" data-testid="enroll-command">
          {command}
        </code>
        <button type="button" className="btn btn-small" onClick={() => void navigator.clipboard?.writeText(command)} data-testid="enroll-command-copy">
          Copy command
        </button>
      </SecretBox>
    );
  }
  return (
    <form
      className="admin-form"
      data-testid="enroll-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const res = await create({ input: { clusterId: cluster.id, expiresIn: lifetime, ...(name.trim() ? { name: name.trim() } : {}) } });
        const errs = formErrors(res, (d) => d.createEnrollmentToken, ['name', 'expiresIn']);
        setErrors(errs);
        const p = res.data?.createEnrollmentToken;
        if (!errs && p?.token) setSecret({ token: p.token, expiresAt: p.apiToken?.expiresAt ?? null });
      }}
    >
      <span>
        An enrollment token lets agents register their hosts into <strong>{cluster.name}</strong>, and nothing else.
      </span>
      <Field label="Name" name="name" errors={errors}>
        <input type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. rack 7 rollout" data-testid="enroll-name" />
      </Field>
      <Field label="Valid for" name="expiresIn" errors={errors}>
        <select value={lifetime} onChange={(e) => setLifetime(e.target.value)} aria-label="Valid for" data-testid="enroll-lifetime">
          {ENROLL_LIFETIMES.map((l) => (
            <option key={l.value} value={l.value}>
              {l.label}
            </option>
          ))}
        </select>
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="enroll-create">
          Create enrollment token
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
      </div>
      <FormAlert errors={errors} />
    </form>
  );
}

type Open = { id: string; what: 'edit' | 'retire' | 'enroll' } | null;

function ClustersScreen() {
  const isAdmin = useCan('ADMIN');
  const { ctx } = useAdminContext();
  const [status, setStatus] = useState<ClusterStatus | ''>('');
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 300);
  const [open, setOpen] = useState<Open>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const listing = JSON.stringify([status, search]);
  const [stored, setPosition] = useState<PagerPosition>({ key: listing, cursor: {}, index: 0 });
  const position = positionFor(stored, listing);
  const variables = useMemo(
    () => ({ ...pageVariables(PAGE_SIZE, position.cursor), filter: { ...(status ? { status } : {}), ...(search ? { search } : {}) } }),
    [position.cursor, status, search],
  );
  const [{ data, error, fetching }, reexecute] = useQuery({ query: AdminClustersQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const clusters = data?.clusters;
  const tree = (ctx?.tree ?? []).filter((t) => t.bu.active);
  const stacks = data?.stacks.nodes ?? [];

  return (
    <div className="page" data-testid="admin-clusters-page">
      <div className="page-head">
        <h1 className="page-title">Clusters &amp; enrollment</h1>
        <div className="page-sub">
          {isAdmin ? 'Create, change and retire clusters. ' : ''}An enrollment token lets the agents of a cluster's hosts register themselves (see the agent's install note).
        </div>
      </div>
      {isAdmin && ctx && data && (
        <Panel title="New cluster">
          <ClusterForm
            key={saved ?? ''}
            tree={tree}
            stacks={stacks}
            onSaved={(n) => {
              setSaved(n);
              refetch();
            }}
          />
          {saved && (
            <div className="action-ok" role="status" data-testid="action-ok">
              Created {saved}.
            </div>
          )}
        </Panel>
      )}
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && fetching && <Loading what="Loading clusters" />}
      {clusters && (
        <Panel
          title={
            <>
              Clusters <span className="count">{formatNumber(clusters.totalCount)}</span>
            </>
          }
          actions={
            <div className="filters">
              <select value={status} onChange={(e) => setStatus(e.target.value as ClusterStatus | '')} aria-label="Filter by status" data-testid="cluster-status-filter">
                <option value="">Any status</option>
                {STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {humanizeEnum(s)}
                  </option>
                ))}
              </select>
              <input type="search" placeholder="Search name" value={text} onChange={(e) => setText(e.target.value)} aria-label="Search clusters" data-testid="cluster-search" />
              {fetching && <span className="spinner" aria-label="Refreshing" />}
            </div>
          }
        >
          <div className="table-wrap">
            <table className="table" data-testid="admin-clusters-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Kind</th>
                  <th>Region</th>
                  <th>Owner BU</th>
                  <th>Stack</th>
                  <th className="num">Hosts</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {clusters.nodes.flatMap((c) => {
                  const retired = c.status === 'RETIRED';
                  const rows = [
                    <tr key={c.id} data-testid="admin-cluster-row" data-name={c.name} data-status={c.status}>
                      <td className="strong">
                        <Link to="/clusters/$name" params={{ name: c.name }}>
                          {c.name}
                        </Link>
                      </td>
                      <td>{humanizeEnum(c.kind)}</td>
                      <td>{c.region}</td>
                      <td title={c.ownerBu?.name}>{c.ownerBu?.code ?? <span className="muted">—</span>}</td>
                      <td>{c.stackVersion ? `${c.stackVersion.stack.name} ${c.stackVersion.version}` : <span className="muted">—</span>}</td>
                      <td className="num" title={`${formatNumber(c.hostCounts.decommissioned)} decommissioned`}>
                        {formatNumber(c.hostCounts.total)}
                      </td>
                      <td>
                        <EnumBadge value={c.status} tones={STATUS_TONE} />
                      </td>
                      <td>{formatDate(c.createdAt)}</td>
                      <td className="nowrap">
                        {!retired && (
                          <>
                            <button type="button" className="btn btn-small" onClick={() => setOpen({ id: c.id, what: 'enroll' })} data-testid="cluster-enroll">
                              Create enrollment token
                            </button>{' '}
                            {isAdmin && (
                              <>
                                <button type="button" className="btn btn-small" onClick={() => setOpen({ id: c.id, what: 'edit' })} data-testid="cluster-edit">
                                  Edit
                                </button>{' '}
                                <button type="button" className="btn btn-small" onClick={() => setOpen({ id: c.id, what: 'retire' })} data-testid="cluster-retire">
                                  Retire
                                </button>
                              </>
                            )}
                          </>
                        )}
                      </td>
                    </tr>,
                  ];
                  if (open?.id === c.id) {
                    const close = () => setOpen(null);
                    rows.push(
                      <tr key={`${c.id}-open`} className="edit-row" data-testid="cluster-open-row">
                        <td colSpan={9}>
                          {open.what === 'edit' && <ClusterForm cluster={c} tree={tree} stacks={stacks} onSaved={close} onCancel={close} />}
                          {open.what === 'retire' && <RetireClusterForm cluster={c} onClose={close} />}
                          {open.what === 'enroll' && <EnrollmentForm cluster={c} onClose={close} />}
                        </td>
                      </tr>,
                    );
                  }
                  return rows;
                })}
                {!clusters.nodes.length && (
                  <tr>
                    <td colSpan={9} className="empty">
                      No clusters match.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <ListingPager info={clusters.pageInfo} position={position} onMove={setPosition} shown={clusters.nodes.length} total={clusters.totalCount} size={PAGE_SIZE} busy={fetching} />
        </Panel>
      )}
    </div>
  );
}

export function AdminClusters() {
  return (
    <AdminGate screen="clusters">
      <ClustersScreen />
    </AdminGate>
  );
}
