// Aquila stacks on a page: a stack version's dependency graph (layered SVG:
// each service right of what it depends on), its packages with their typed
// metadata, and the operator forms that register a package and create a stack
// version, with the server's refusals next to the fields they name.
import { useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { useMutation } from 'urql';
import { graphql, type Enum } from '../graphql';
import { messageOf } from '../lib/errors';
import { dependencyInput, errorsByField, layerGraph } from '../lib/operations';
import { humanizeEnum } from '../lib/format';

export interface GraphData {
  nodes: readonly { service: string; version: string; position: number }[];
  edges: readonly { from: string; to: string; constraint: string; missing: boolean; satisfied: boolean }[];
}

const NODE_W = 150;
const NODE_H = 40;
const GAP_X = 70;
const GAP_Y = 18;

/**
 * The dependency graph drawn left to right: what depends on nothing first,
 * then each service one column right of the deepest service it needs. Edges
 * run from a dependent to what it needs; an unsatisfied constraint is red and
 * dashed, a service the version lacks (a partial version: the cluster's
 * provides it) is an amber dotted box.
 */
export function DependencyGraph({ graph, testId = 'dep-graph' }: { graph: GraphData; testId?: string }) {
  const layout = useMemo(() => {
    const missing = [...new Set(graph.edges.filter((e) => e.missing).map((e) => e.to))].filter((s) => !graph.nodes.some((n) => n.service === s));
    const nodes = [...graph.nodes.map((n) => ({ service: n.service, position: n.position })), ...missing.map((s) => ({ service: s, position: -1 }))];
    const laid = layerGraph(nodes, graph.edges);
    const at = new Map(laid.map((n) => [n.service, { x: 10 + n.layer * (NODE_W + GAP_X), y: 10 + n.row * (NODE_H + GAP_Y) }]));
    const width = 20 + (Math.max(0, ...laid.map((n) => n.layer)) + 1) * (NODE_W + GAP_X) - GAP_X;
    const height = 20 + (Math.max(0, ...laid.map((n) => n.row)) + 1) * (NODE_H + GAP_Y) - GAP_Y;
    return { at, width, height, missing: new Set(missing) };
  }, [graph]);
  const version = new Map(graph.nodes.map((n) => [n.service, n]));
  if (!graph.nodes.length) return <div className="muted">No packages.</div>;
  return (
    <svg className="dep-graph" width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label="Dependency graph" data-testid={testId}>
      <defs>
        <marker id="dep-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#868e96" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const a = layout.at.get(e.from);
        const b = layout.at.get(e.to);
        if (!a || !b) return null;
        // From the dependent's left side to the right side of what it needs.
        const x1 = a.x;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x + NODE_W;
        const y2 = b.y + NODE_H / 2;
        const mx = (x1 + x2) / 2;
        const cls = e.missing ? 'missing' : e.satisfied ? '' : 'unsatisfied';
        return (
          <path
            key={`${e.from}->${e.to}`}
            className={`edge ${cls}`}
            d={`M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`}
            markerEnd="url(#dep-arrow)"
            data-testid="dep-edge"
            data-state={e.missing ? 'missing' : e.satisfied ? 'satisfied' : 'unsatisfied'}
          >
            <title>
              {e.from} needs {e.to} {e.constraint || '*'}
              {e.missing ? ' (not in this version: the cluster’s)' : e.satisfied ? '' : ' — NOT satisfied'}
            </title>
          </path>
        );
      })}
      {[...layout.at.entries()].map(([service, p]) => {
        const n = version.get(service);
        return (
          <g key={service} className={`node ${layout.missing.has(service) ? 'missing-node' : ''}`} transform={`translate(${p.x},${p.y})`} data-testid="dep-node" data-service={service}>
            <rect width={NODE_W} height={NODE_H} rx={6} />
            <text x={8} y={17} fontWeight={600}>
              {n && n.position >= 0 ? `${n.position + 1}. ` : ''}
              {service}
            </text>
            <text x={8} y={32} className="muted" fill="#5c6470">
              {n ? n.version : 'cluster’s'}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The legend of DependencyGraph. */
export function GraphLegend() {
  return (
    <div className="muted small">
      Arrows point from a service to what it needs; numbers are the start order. <span style={{ color: 'var(--bad)' }}>Red dashed</span>: constraint not satisfied.{' '}
      <span style={{ color: 'var(--warn)' }}>Amber dotted</span>: not in this version (a partial version keeps the cluster’s).
    </div>
  );
}

function Field({ label, errors, children, wide }: { label: string; errors?: string[]; children: ReactNode; wide?: boolean }) {
  return (
    <label className={`field ${wide ? 'field-wide' : ''} ${errors?.length ? 'field-bad' : ''}`}>
      <span className="field-label">{label}</span>
      {children}
      {errors?.map((m) => (
        <span key={m} className="field-error" data-testid="field-error">
          {m}
        </span>
      ))}
    </label>
  );
}

const RegisterServicePackageMutation = graphql(`
  mutation RegisterServicePackage($input: RegisterServicePackageInput!) {
    registerServicePackage(input: $input) {
      package {
        id
        service
        version
      }
      userErrors {
        message
        field
      }
    }
  }
`);

const PACKAGE_FIELDS = [
  'service',
  'info.version',
  'info.build',
  'info.checksum',
  'info.source',
  'ops.dependsOn',
  'ops.startOrder',
  'ops.stopOrder',
  'ops.health',
  'ops.restart',
] as const;

type PackageSource = Enum<'PackageSource'>;
type HealthCheckKind = Enum<'HealthCheckKind'>;
type RestartPolicy = Enum<'RestartPolicy'>;

/** Registers a service package: version information, then how it runs among the others. */
export function RegisterPackageForm({ onDone }: { onDone: (label: string) => void }) {
  const [, register] = useMutation(RegisterServicePackageMutation);
  const [service, setService] = useState('');
  const [version, setVersion] = useState('');
  const [build, setBuild] = useState('');
  const [checksum, setChecksum] = useState('');
  const [kind, setKind] = useState<PackageSource>('RPM');
  const [uri, setUri] = useState('');
  const [ref, setRef] = useState('');
  const [deps, setDeps] = useState<{ service: string; constraint: string }[]>([{ service: '', constraint: '' }]);
  const [startOrder, setStartOrder] = useState('');
  const [stopOrder, setStopOrder] = useState('');
  const [healthKind, setHealthKind] = useState<HealthCheckKind | ''>('');
  const [healthTarget, setHealthTarget] = useState('');
  const [healthTimeout, setHealthTimeout] = useState('30s');
  const [policy, setPolicy] = useState<RestartPolicy>('ON_FAILURE');
  const [maxRestarts, setMaxRestarts] = useState('3');
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [saving, setSaving] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setErrors({});
    const ops = {
      dependsOn: dependencyInput(deps),
      ...(startOrder.trim() ? { startOrder: Number(startOrder) } : {}),
      ...(stopOrder.trim() ? { stopOrder: Number(stopOrder) } : {}),
      ...(healthKind ? { health: { kind: healthKind, target: healthTarget.trim(), timeout: healthTimeout.trim() } } : {}),
      restart: { policy, ...(maxRestarts.trim() ? { maxRestarts: Number(maxRestarts) } : {}) },
    };
    const res = await register({
      input: {
        service: service.trim(),
        info: {
          version: version.trim(),
          ...(build.trim() ? { build: build.trim() } : {}),
          checksum: checksum.trim(),
          source: { kind, uri: uri.trim(), ...(kind === 'GIT' && ref.trim() ? { ref: ref.trim() } : {}) },
        },
        ops,
      },
    });
    setSaving(false);
    if (res.error) {
      setErrors({ '': [messageOf(res.error)] });
      return;
    }
    const p = res.data?.registerServicePackage;
    if (!p) {
      setErrors({ '': ['The server sent no answer.'] });
      return;
    }
    if (p.userErrors.length) {
      setErrors(errorsByField(p.userErrors, PACKAGE_FIELDS));
      return;
    }
    if (p.package) onDone(`${p.package.service} ${p.package.version}`);
  };

  return (
    <form className="admin-form" onSubmit={submit} data-testid="register-package-form">
      <Field label="Service" errors={errors.service}>
        <input type="text" value={service} onChange={(e) => setService(e.target.value)} placeholder="HDFS" required data-testid="pkg-service" />
      </Field>
      <Field label="Version" errors={errors['info.version']}>
        <input type="text" value={version} onChange={(e) => setVersion(e.target.value)} placeholder="3.3.6" required data-testid="pkg-version" />
      </Field>
      <Field label="Build" errors={errors['info.build']}>
        <input type="text" className="narrow" value={build} onChange={(e) => setBuild(e.target.value)} placeholder="1.el7" data-testid="pkg-build" />
      </Field>
      <Field label="Checksum" errors={errors['info.checksum']} wide>
        <input type="text" value={checksum} onChange={(e) => setChecksum(e.target.value)} placeholder="sha256:<64 hex digits>" required data-testid="pkg-checksum" />
      </Field>
      <Field label="Source" errors={errors['info.source']} wide>
        <span className="dep-row">
          <select value={kind} onChange={(e) => setKind(e.target.value as PackageSource)} aria-label="Source kind" data-testid="pkg-source-kind">
            {(['RPM', 'TAR', 'GIT', 'OBJECT_STORE'] as const).map((k) => (
              <option key={k} value={k}>
                {humanizeEnum(k)}
              </option>
            ))}
          </select>
          <input type="text" value={uri} onChange={(e) => setUri(e.target.value)} placeholder="https://repo.example/hdfs-3.3.6.rpm" required aria-label="Source URI" data-testid="pkg-source-uri" />
          {kind === 'GIT' && <input type="text" className="narrow" value={ref} onChange={(e) => setRef(e.target.value)} placeholder="ref" aria-label="Git ref" data-testid="pkg-source-ref" />}
        </span>
      </Field>
      <Field label="Depends on (service, constraint)" errors={errors['ops.dependsOn']} wide>
        <span className="dep-rows">
          {deps.map((d, i) => (
            <span className="dep-row" key={i}>
              <input type="text" value={d.service} onChange={(e) => setDeps(deps.map((x, j) => (j === i ? { ...x, service: e.target.value } : x)))} placeholder="ZOOKEEPER" aria-label="Depends on service" data-testid="pkg-dep-service" />
              <input type="text" value={d.constraint} onChange={(e) => setDeps(deps.map((x, j) => (j === i ? { ...x, constraint: e.target.value } : x)))} placeholder=">=3.4, <4" aria-label="Constraint" data-testid="pkg-dep-constraint" />
              <button type="button" className="btn btn-small" onClick={() => setDeps(deps.length > 1 ? deps.filter((_, j) => j !== i) : [{ service: '', constraint: '' }])} aria-label="Remove dependency">
                ×
              </button>
            </span>
          ))}
          <button type="button" className="btn btn-small" onClick={() => setDeps([...deps, { service: '', constraint: '' }])} data-testid="pkg-dep-add">
            + dependency
          </button>
        </span>
      </Field>
      <Field label="Start order" errors={errors['ops.startOrder']}>
        <input type="text" inputMode="numeric" className="narrow" value={startOrder} onChange={(e) => setStartOrder(e.target.value)} data-testid="pkg-start-order" />
      </Field>
      <Field label="Stop order" errors={errors['ops.stopOrder']}>
        <input type="text" inputMode="numeric" className="narrow" value={stopOrder} onChange={(e) => setStopOrder(e.target.value)} data-testid="pkg-stop-order" />
      </Field>
      <Field label="Health check" errors={errors['ops.health']} wide>
        <span className="dep-row">
          <select value={healthKind} onChange={(e) => setHealthKind(e.target.value as HealthCheckKind | '')} aria-label="Health check kind" data-testid="pkg-health-kind">
            <option value="">none</option>
            {(['HTTP', 'TCP', 'COMMAND'] as const).map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
          {healthKind && (
            <>
              <input type="text" value={healthTarget} onChange={(e) => setHealthTarget(e.target.value)} placeholder={healthKind === 'HTTP' ? 'http://localhost:9870/' : healthKind === 'TCP' ? 'localhost:8020' : 'hdfs dfsadmin -report'} aria-label="Health check target" data-testid="pkg-health-target" />
              <input type="text" className="narrow" value={healthTimeout} onChange={(e) => setHealthTimeout(e.target.value)} aria-label="Health check timeout" data-testid="pkg-health-timeout" />
            </>
          )}
        </span>
      </Field>
      <Field label="Restart policy" errors={errors['ops.restart']}>
        <span className="dep-row">
          <select value={policy} onChange={(e) => setPolicy(e.target.value as RestartPolicy)} aria-label="Restart policy" data-testid="pkg-restart-policy">
            {(['ALWAYS', 'ON_FAILURE', 'NEVER'] as const).map((k) => (
              <option key={k} value={k}>
                {humanizeEnum(k)}
              </option>
            ))}
          </select>
          <input type="text" inputMode="numeric" className="narrow" value={maxRestarts} onChange={(e) => setMaxRestarts(e.target.value)} aria-label="Max restarts" title="Max restarts" />
        </span>
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={saving} data-testid="pkg-submit">
          Register package
        </button>
      </div>
      {errors['']?.length ? (
        <div className="action-error" role="alert" data-testid="pkg-error">
          {errors[''].join('; ')}
        </div>
      ) : null}
    </form>
  );
}

const CreateStackVersionMutation = graphql(`
  mutation CreateStackVersion($input: CreateStackVersionInput!) {
    createStackVersion(input: $input) {
      stackVersion {
        id
        version
        stack {
          id
          name
        }
      }
      userErrors {
        message
        field
      }
    }
  }
`);

const VERSION_FIELDS = ['stack', 'version', 'partial', 'notes', 'packages', 'base'] as const;

/** Creates a stack version from registered packages: one pick per service; a partial one names its base. */
export function NewStackVersionForm({
  packages,
  bases,
  onDone,
}: {
  /** Registered packages to pick from (newest first). */
  packages: readonly { service: string; version: string }[];
  /** Full stack versions a partial one may be based on. */
  bases: readonly { id: string; label: string }[];
  onDone: (label: string) => void;
}) {
  const [, create] = useMutation(CreateStackVersionMutation);
  const [stack, setStack] = useState('');
  const [version, setVersion] = useState('');
  const [partial, setPartial] = useState(false);
  const [base, setBase] = useState('');
  const [notes, setNotes] = useState('');
  const [picks, setPicks] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [saving, setSaving] = useState(false);
  const byService = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of packages) m.set(p.service, [...(m.get(p.service) ?? []), p.version]);
    return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [packages]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setErrors({});
    const res = await create({
      input: {
        stack: stack.trim(),
        version: version.trim(),
        partial,
        ...(notes.trim() ? { notes: notes.trim() } : {}),
        ...(partial && base ? { base } : {}),
        packages: Object.entries(picks)
          .filter(([, v]) => v)
          .map(([service, v]) => ({ service, version: v })),
      },
    });
    setSaving(false);
    if (res.error) {
      setErrors({ '': [messageOf(res.error)] });
      return;
    }
    const p = res.data?.createStackVersion;
    if (!p) {
      setErrors({ '': ['The server sent no answer.'] });
      return;
    }
    if (p.userErrors.length) {
      setErrors(errorsByField(p.userErrors, VERSION_FIELDS));
      return;
    }
    if (p.stackVersion) onDone(`${p.stackVersion.stack.name} ${p.stackVersion.version}`);
  };

  return (
    <form className="admin-form" onSubmit={submit} data-testid="new-version-form">
      <Field label="Stack" errors={errors.stack}>
        <input type="text" value={stack} onChange={(e) => setStack(e.target.value)} placeholder="TDP" required data-testid="ver-stack" />
      </Field>
      <Field label="Version" errors={errors.version}>
        <input type="text" value={version} onChange={(e) => setVersion(e.target.value)} placeholder="3.3.1" required data-testid="ver-version" />
      </Field>
      <Field label="Partial" errors={errors.partial}>
        <input type="checkbox" checked={partial} onChange={(e) => setPartial(e.target.checked)} data-testid="ver-partial" />
      </Field>
      {partial && (
        <Field label="Base version" errors={errors.base}>
          <select value={base} onChange={(e) => setBase(e.target.value)} data-testid="ver-base">
            <option value="">—</option>
            {bases.map((b) => (
              <option key={b.id} value={b.id}>
                {b.label}
              </option>
            ))}
          </select>
        </Field>
      )}
      <Field label="Notes" errors={errors.notes} wide>
        <input type="text" value={notes} onChange={(e) => setNotes(e.target.value)} data-testid="ver-notes" />
      </Field>
      <Field label="Packages (one per service)" errors={errors.packages} wide>
        <span className="dep-rows" data-testid="ver-packages">
          {byService.map(([service, versions]) => (
            <span className="dep-row" key={service}>
              <span className="mono" style={{ minWidth: '9rem' }}>
                {service}
              </span>
              <select value={picks[service] ?? ''} onChange={(e) => setPicks({ ...picks, [service]: e.target.value })} aria-label={`${service} version`} data-testid="ver-pick" data-service={service}>
                <option value="">not in this version</option>
                {versions.map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </span>
          ))}
          {!byService.length && <span className="muted">No packages registered yet.</span>}
        </span>
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={saving} data-testid="ver-submit">
          Create stack version
        </button>
      </div>
      {errors['']?.length ? (
        <div className="action-error" role="alert" data-testid="ver-error">
          {errors[''].join('; ')}
        </div>
      ) : null}
    </form>
  );
}
