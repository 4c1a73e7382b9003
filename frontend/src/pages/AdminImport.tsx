// Administration → Import inventory (ADMIN): a declarative inventory (the same
// YAML or CSV files as `tesla import inventory`) pasted or uploaded, run first
// as a dry run that shows every change it would make, then applied in one
// transaction. Apply is offered only for the file, format and prune choice the
// dry run was made with; with prune, the deactivations it lists must be
// confirmed first. Any error refuses the whole file, naming its line.
import { useMemo, useState, type ChangeEvent } from 'react';
import { useMutation } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { diffCounts, diffSummary, INVENTORY_ENTITIES, inventoryFormat, sortChanges } from '../lib/admin';
import { humanizeEnum } from '../lib/format';
import { messageOf } from '../lib/errors';
import { Badge, Panel } from '../components/ui';
import { AdminGate } from '../components/admin';

export const ImportInventory = graphql(`
  mutation ImportInventory($input: ImportInventoryInput!) {
    importInventory(input: $input) {
      applied
      unchanged
      changes {
        entity
        key
        action
        changes {
          field
          from
          to
        }
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

type Result = ResultOf<typeof ImportInventory>['importInventory'];
type Format = 'YAML' | 'CSV';

const ACTION_TONE = { CREATE: 'good', UPDATE: 'info', DEACTIVATE: 'bad' } as const;

/** The place of a user error in the file: "line 12" from ["content", "line 12"], else the path. */
function where(field: readonly string[] | null | undefined): string {
  const f = (field ?? []).filter((s) => s !== 'input' && s !== 'content');
  return f.join(' · ');
}

function DiffTable({ result }: { result: Result }) {
  const changes = useMemo(() => sortChanges(result.changes), [result.changes]);
  const counts = diffCounts(result.changes);
  return (
    <>
      <div className="diff-counts" data-testid="import-counts">
        {INVENTORY_ENTITIES.map((e) => (
          <span key={e} className="diff-count">
            <strong>{humanizeEnum(e)}</strong> +{counts[e].CREATE} ~{counts[e].UPDATE} −{counts[e].DEACTIVATE}
          </span>
        ))}
      </div>
      <div className="table-wrap">
        <table className="table" data-testid="import-diff">
          <thead>
            <tr>
              <th>Change</th>
              <th>What</th>
              <th>Key</th>
              <th>Fields</th>
            </tr>
          </thead>
          <tbody>
            {changes.map((c) => (
              <tr key={`${c.entity}:${c.key}`} data-testid="import-change" data-entity={c.entity} data-key={c.key} data-action={c.action}>
                <td>
                  <Badge tone={ACTION_TONE[c.action]}>{humanizeEnum(c.action)}</Badge>
                </td>
                <td>{humanizeEnum(c.entity)}</td>
                <td className="mono strong">{c.key}</td>
                <td>
                  {c.changes.length ? (
                    <ul className="field-changes">
                      {c.changes.map((f) => (
                        <li key={f.field}>
                          <span className="mono">{f.field}</span>: {f.from ? <del>{f.from}</del> : <span className="muted">∅</span>} → {f.to ? <ins>{f.to}</ins> : <span className="muted">∅</span>}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
            {!changes.length && (
              <tr>
                <td colSpan={4} className="empty">
                  Nothing to change: the platform is as the file says.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ImportScreen() {
  const [content, setContent] = useState('');
  const [fileName, setFileName] = useState('');
  const [format, setFormat] = useState<Format>('YAML');
  const [prune, setPrune] = useState(false);
  const [confirmPrune, setConfirmPrune] = useState(false);
  const [dry, setDry] = useState<{ key: string; result: Result } | null>(null);
  const [applied, setApplied] = useState<Result | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [{ fetching }, run] = useMutation(ImportInventory);
  const key = JSON.stringify([format, prune, content]);
  const current = dry && dry.key === key ? dry.result : null;
  const removals = current ? current.changes.filter((c) => c.action === 'DEACTIVATE').length : 0;

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    const text = await file.text();
    setFileName(file.name);
    setContent(text);
    setFormat(inventoryFormat(file.name, text));
  };

  const send = async (dryRun: boolean) => {
    setFailure(null);
    setApplied(null);
    const res = await run({ input: { format, content, dryRun, prune } });
    if (res.error || !res.data) {
      setFailure(res.error ? messageOf(res.error) : 'The server sent no answer.');
      return;
    }
    const r = res.data.importInventory;
    if (dryRun) setDry({ key, result: r });
    else if (r.userErrors.length) setDry({ key, result: r });
    else {
      setApplied(r);
      setDry(null);
      setConfirmPrune(false);
    }
  };

  const errors = current?.userErrors ?? [];

  return (
    <div className="page" data-testid="admin-import-page">
      <div className="page-head">
        <h1 className="page-title">Import inventory</h1>
        <div className="page-sub">
          BUs, people, clusters and hosts from a YAML or CSV file (the format of <code>tesla import inventory</code>). Importing is idempotent; nothing is removed unless you ask to prune.
        </div>
      </div>
      <Panel title="File">
        <div className="admin-form admin-form-column">
          <div className="action-form">
            <input type="file" accept=".yaml,.yml,.csv,text/csv,application/yaml,text/yaml" onChange={(e) => void onFile(e)} aria-label="Inventory file" data-testid="import-file" />
            <select value={format} onChange={(e) => setFormat(e.target.value as Format)} aria-label="Format" data-testid="import-format">
              <option value="YAML">YAML</option>
              <option value="CSV">CSV</option>
            </select>
            {fileName && <span className="muted small">{fileName}</span>}
          </div>
          <textarea
            value={content}
            onChange={(e) => {
              setContent(e.target.value);
              if (!fileName && e.target.value.trim()) setFormat(inventoryFormat('', e.target.value));
            }}
            rows={14}
            spellCheck={false}
            className="mono paste-area"
            placeholder={'bus:\n  - code: ADS\n    name: Advertising\npeople:\n  - login: alice\n    name: Alice\n    bu: ADS\n    role: BU_ADMIN\nclusters:\n  - name: batch-ads-01\n    region: eu-west\n    kind: BATCH\n    owner_bu: ADS\nhosts:\n  - hostname: node-101\n    cluster: batch-ads-01\n    rack: r07'}
            aria-label="Inventory content"
            data-testid="import-content"
          />
          <label className="check-label">
            <input
              type="checkbox"
              checked={prune}
              onChange={(e) => {
                setPrune(e.target.checked);
                setConfirmPrune(false);
              }}
              data-testid="import-prune"
            />{' '}
            Prune: deactivate people, retire clusters and decommission hosts the file no longer lists
          </label>
          <div className="form-actions">
            <button type="button" className="btn btn-primary" disabled={fetching || !content.trim()} onClick={() => void send(true)} data-testid="import-dry-run">
              {fetching && !current ? 'Checking…' : 'Dry run'}
            </button>
            {current && !errors.length && (
              <>
                {removals > 0 && (
                  <label className="check-label warn-text">
                    <input type="checkbox" checked={confirmPrune} onChange={(e) => setConfirmPrune(e.target.checked)} data-testid="import-confirm-prune" /> Yes, remove the {removals} entr{removals === 1 ? 'y' : 'ies'} marked “Deactivate”
                  </label>
                )}
                <button
                  type="button"
                  className={`btn ${removals ? 'btn-danger' : 'btn-primary'}`}
                  disabled={fetching || (removals > 0 && !confirmPrune) || !current.changes.length}
                  onClick={() => void send(false)}
                  data-testid="import-apply"
                >
                  Apply {current.changes.length} change{current.changes.length === 1 ? '' : 's'}
                </button>
              </>
            )}
            {dry && !current && <span className="muted small">The file or options changed since the dry run: run it again.</span>}
          </div>
          {failure && (
            <div className="action-error" role="alert" data-testid="action-error">
              {failure}
            </div>
          )}
          {errors.length > 0 && (
            <div className="action-error" role="alert" data-testid="import-errors">
              The file is refused; nothing was written:
              <ul>
                {errors.map((e, i) => (
                  <li key={i}>
                    {where(e.field) && <span className="mono">{where(e.field)}: </span>}
                    {e.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {applied && (
            <div className="action-ok" role="status" data-testid="import-applied">
              Applied: {diffSummary(applied.changes, applied.unchanged, true)}.
            </div>
          )}
        </div>
      </Panel>
      {current && !errors.length && (
        <Panel title="Dry run">
          <p className="strong" data-testid="import-summary">
            {diffSummary(current.changes, current.unchanged)}.
          </p>
          <DiffTable result={current} />
        </Panel>
      )}
      {applied && applied.changes.length > 0 && (
        <Panel title="Applied">
          <DiffTable result={applied} />
        </Panel>
      )}
    </div>
  );
}

export function AdminImport() {
  return (
    <AdminGate screen="import">
      <ImportScreen />
    </AdminGate>
  );
}
