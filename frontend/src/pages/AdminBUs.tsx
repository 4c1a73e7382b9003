// Administration → Business units (ADMIN): the BU tree, a form to create a BU
// (as a root or under a parent), and per BU rename, change of code, move in the
// tree (never under itself or its subtree: those parents are not offered, and
// the server refuses them too) and deactivation (refused while the BU still has
// active sub-BUs, people or clusters; the server's message says how many).
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../graphql';
import { parentChoices } from '../lib/admin';
import { formErrors, type FormErrors } from '../lib/mutation';
import { Badge, ErrorPanel, Loading, Panel } from '../components/ui';
import { AdminGate, BUSelect, Field, FormAlert, useAdminContext, type AdminBU } from '../components/admin';

const BUFields = graphql(`
  fragment AdminBUFields on BU {
    id
    name
    code
    depth
    active
    parent {
      id
    }
  }
`);

export const CreateBU = graphql(
  `
    mutation CreateBU($input: CreateBUInput!) {
      createBU(input: $input) {
        bu {
          ...AdminBUFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [BUFields],
);

export const UpdateBU = graphql(
  `
    mutation UpdateBU($input: UpdateBUInput!) {
      updateBU(input: $input) {
        bu {
          ...AdminBUFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [BUFields],
);

export const DeactivateBU = graphql(
  `
    mutation DeactivateBU($input: DeactivateBUInput!) {
      deactivateBU(input: $input) {
        bu {
          ...AdminBUFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [BUFields],
);

type Tree = ReadonlyArray<{ bu: AdminBU; depth: number }>;

function CreateBUForm({ tree, onDone }: { tree: Tree; onDone: () => void }) {
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [parentId, setParentId] = useState('');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [{ fetching }, create] = useMutation(CreateBU);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    const res = await create({ input: { name: name.trim(), code: code.trim(), ...(parentId ? { parentId } : {}) } });
    const errs = formErrors(res, (d) => d.createBU, ['name', 'code', 'parentId']);
    setErrors(errs);
    if (errs) return;
    setCreated(`${name.trim()} (${code.trim()})`);
    setName('');
    setCode('');
    onDone();
  };

  return (
    <Panel title="New business unit">
      <form className="admin-form" onSubmit={submit} data-testid="bu-create-form">
        <Field label="Name" name="name" errors={errors}>
          <input type="text" value={name} onChange={(e) => setName(e.target.value)} required data-testid="bu-name" />
        </Field>
        <Field label="Code" name="code" errors={errors}>
          <input type="text" value={code} onChange={(e) => setCode(e.target.value.toUpperCase())} required placeholder="e.g. ADS" className="narrow" data-testid="bu-code" />
        </Field>
        <Field label="Parent" name="parentId" errors={errors}>
          <BUSelect tree={tree} value={parentId} onChange={setParentId} label="Parent BU" empty="— none: a root —" testId="bu-parent" />
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="bu-create">
            Create BU
          </button>
          {created && (
            <span className="action-ok" role="status" data-testid="action-ok">
              Created {created}.
            </span>
          )}
        </div>
        <FormAlert errors={errors} />
      </form>
    </Panel>
  );
}

function EditBURow({ bu, tree, onClose }: { bu: AdminBU; tree: Tree; onClose: () => void }) {
  const [name, setName] = useState(bu.name);
  const [code, setCode] = useState(bu.code);
  const [parentId, setParentId] = useState(bu.parent?.id ?? '');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [{ fetching }, update] = useMutation(UpdateBU);
  const choices = new Set(parentChoices(tree.map((t) => t.bu), bu.id).map((b) => b.id));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const moved = parentId !== (bu.parent?.id ?? '');
    const input = {
      id: bu.id,
      ...(name.trim() !== bu.name ? { name: name.trim() } : {}),
      ...(code.trim() !== bu.code ? { code: code.trim() } : {}),
      ...(moved ? (parentId ? { parentId } : { makeRoot: true }) : {}),
    };
    const res = await update({ input });
    const errs = formErrors(res, (d) => d.updateBU, ['name', 'code', 'parentId', 'makeRoot']);
    setErrors(errs);
    if (!errs) onClose();
  };

  return (
    <tr className="edit-row" data-testid="bu-edit-row">
      <td colSpan={5}>
        <form className="admin-form" onSubmit={submit} data-testid="bu-edit-form">
          <Field label="Name" name="name" errors={errors}>
            <input type="text" value={name} onChange={(e) => setName(e.target.value)} required data-testid="bu-edit-name" />
          </Field>
          <Field label="Code" name="code" errors={errors}>
            <input type="text" value={code} onChange={(e) => setCode(e.target.value.toUpperCase())} required className="narrow" data-testid="bu-edit-code" />
          </Field>
          <Field label="Parent" name="parentId" errors={errors}>
            <BUSelect
              tree={tree.filter((t) => choices.has(t.bu.id))}
              value={parentId}
              onChange={setParentId}
              label="Move under"
              empty="— none: a root —"
              testId="bu-edit-parent"
            />
          </Field>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="bu-save">
              Save
            </button>
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
          </div>
          <FormAlert errors={errors} />
        </form>
      </td>
    </tr>
  );
}

function DeactivateBUButton({ bu }: { bu: AdminBU }) {
  const [confirm, setConfirm] = useState(false);
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [{ fetching }, deactivate] = useMutation(DeactivateBU);
  if (!confirm) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setConfirm(true)} data-testid="bu-deactivate">
        Deactivate
      </button>
    );
  }
  return (
    <span className="revoke-confirm">
      <button
        type="button"
        className="btn btn-small btn-danger"
        disabled={fetching}
        data-testid="bu-deactivate-confirm"
        onClick={async () => {
          const errs = formErrors(await deactivate({ input: { id: bu.id } }), (d) => d.deactivateBU, []);
          setErrors(errs);
          if (!errs) setConfirm(false);
        }}
      >
        Deactivate {bu.code}
      </button>
      <button type="button" className="btn btn-small" onClick={() => setConfirm(false)}>
        Keep
      </button>
      <FormAlert errors={errors} />
    </span>
  );
}

function BUsScreen() {
  const { ctx, error, fetching, refetch } = useAdminContext();
  const [editing, setEditing] = useState<string | null>(null);
  const byId = new Map(ctx?.bus.map((b) => [b.id, b]) ?? []);

  return (
    <div className="page" data-testid="admin-bus-page">
      <div className="page-head">
        <h1 className="page-title">Business units</h1>
        <div className="page-sub">The organisation as a tree. People and clusters belong to a BU; a BU admin manages the people of their BU and everything under it.</div>
      </div>
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!ctx && fetching && <Loading what="Loading business units" />}
      {ctx && (
        <>
          <CreateBUForm tree={ctx.tree.filter((t) => t.bu.active)} onDone={refetch} />
          <Panel
            title={
              <>
                Tree <span className="count">{ctx.total}</span>
              </>
            }
          >
            {ctx.total > ctx.bus.length && (
              <p className="muted small">
                Showing the first {ctx.bus.length} of {ctx.total} BUs.
              </p>
            )}
            <div className="table-wrap">
              <table className="table" data-testid="bu-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Code</th>
                    <th>Parent</th>
                    <th>Status</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {ctx.tree.map(({ bu, depth }) =>
                    editing === bu.id ? (
                      <EditBURow key={bu.id} bu={bu} tree={ctx.tree} onClose={() => setEditing(null)} />
                    ) : (
                      <tr key={bu.id} data-testid="bu-row" data-code={bu.code}>
                        <td className="strong" style={{ paddingLeft: `${8 + depth * 18}px` }}>
                          {depth > 0 && <span className="tree-elbow" aria-hidden="true">└ </span>}
                          {bu.name}
                        </td>
                        <td className="mono">{bu.code}</td>
                        <td>{bu.parent ? byId.get(bu.parent.id)?.code ?? '—' : <span className="muted">root</span>}</td>
                        <td>{bu.active ? <Badge tone="good">Active</Badge> : <Badge tone="muted">Inactive</Badge>}</td>
                        <td className="nowrap">
                          {bu.active && (
                            <>
                              <button type="button" className="btn btn-small" onClick={() => setEditing(bu.id)} data-testid="bu-edit">
                                Edit
                              </button>{' '}
                              <DeactivateBUButton bu={bu} />
                            </>
                          )}
                        </td>
                      </tr>
                    ),
                  )}
                  {!ctx.tree.length && (
                    <tr>
                      <td colSpan={5} className="empty">
                        No business units yet: create the first one above.
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </Panel>
        </>
      )}
    </div>
  );
}

export function AdminBUs() {
  return (
    <AdminGate screen="bus">
      <BUsScreen />
    </AdminGate>
  );
}
