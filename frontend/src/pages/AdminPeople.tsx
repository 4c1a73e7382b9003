// Administration → People (ADMIN; a BU admin for their own BU subtree): the
// people, filtered by BU, role and name, a form to add a person, and per person
// a change of name, email, role or BU, and deactivation (which ends their
// sessions and revokes their tokens at once). A BU admin is offered only the
// BUs of their subtree and roles up to their own; the server checks both, and
// its refusal shows next to the field it names.
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf, type Role } from '../graphql';
import { PageInfoFields } from '../graphql/fragments';
import { grantableRoles, roleAtLeast, useDebounced } from '../lib/hooks';
import { formatDate, formatNumber, humanizeEnum } from '../lib/format';
import { formErrors, type FormErrors } from '../lib/mutation';
import { pageVariables, positionFor, type PagerPosition } from '../lib/paging';
import { Badge, ErrorPanel, Loading, ListingPager, Panel } from '../components/ui';
import { AdminGate, BUSelect, Field, FormAlert, useAdminContext, type AdminBU } from '../components/admin';

const PersonFields = graphql(`
  fragment AdminPersonFields on Person {
    id
    login
    name
    email
    role
    active
    createdAt
    bu {
      id
      code
      name
    }
  }
`);

export const AdminPeopleQuery = graphql(
  `
    query AdminPeople($first: Int, $after: String, $last: Int, $before: String, $filter: PersonFilter) {
      people(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        totalCount
        pageInfo {
          ...PageInfoFields
        }
        nodes {
          ...AdminPersonFields
        }
      }
    }
  `,
  [PageInfoFields, PersonFields],
);

export const CreatePerson = graphql(
  `
    mutation CreatePerson($input: CreatePersonInput!) {
      createPerson(input: $input) {
        person {
          ...AdminPersonFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [PersonFields],
);

export const UpdatePerson = graphql(
  `
    mutation UpdatePerson($input: UpdatePersonInput!) {
      updatePerson(input: $input) {
        person {
          ...AdminPersonFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [PersonFields],
);

export const DeactivatePerson = graphql(
  `
    mutation DeactivatePerson($input: DeactivatePersonInput!) {
      deactivatePerson(input: $input) {
        person {
          ...AdminPersonFields
        }
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [PersonFields],
);

type Person = ResultOf<typeof PersonFields>;
type Tree = ReadonlyArray<{ bu: AdminBU; depth: number }>;

const PAGE_SIZE = 50;
const ALL_ROLES: Role[] = ['VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN'];

function CreatePersonForm({ tree, roles, defaultBu, onDone }: { tree: Tree; roles: Role[]; defaultBu: string; onDone: () => void }) {
  const [login, setLogin] = useState('');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [buId, setBuId] = useState(defaultBu);
  const [role, setRole] = useState<Role>('VIEWER');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [{ fetching }, create] = useMutation(CreatePerson);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    const res = await create({ input: { login: login.trim(), name: name.trim(), ...(email.trim() ? { email: email.trim() } : {}), buId, role } });
    const errs = formErrors(res, (d) => d.createPerson, ['login', 'name', 'email', 'buId', 'role']);
    setErrors(errs);
    if (errs) return;
    setCreated(login.trim());
    setLogin('');
    setName('');
    setEmail('');
    onDone();
  };

  return (
    <Panel title="Add a person">
      <form className="admin-form" onSubmit={submit} data-testid="person-create-form">
        <Field label="Login" name="login" errors={errors}>
          <input type="text" value={login} onChange={(e) => setLogin(e.target.value)} required autoComplete="off" data-testid="person-login" />
        </Field>
        <Field label="Name" name="name" errors={errors}>
          <input type="text" value={name} onChange={(e) => setName(e.target.value)} required data-testid="person-name" />
        </Field>
        <Field label="Email" name="email" errors={errors}>
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} data-testid="person-email" />
        </Field>
        <Field label="BU" name="buId" errors={errors}>
          <BUSelect tree={tree} value={buId} onChange={setBuId} label="BU" testId="person-bu" />
        </Field>
        <Field label="Role" name="role" errors={errors}>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="Role" data-testid="person-role">
            {roles.map((r) => (
              <option key={r} value={r}>
                {humanizeEnum(r)}
              </option>
            ))}
          </select>
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={fetching || !buId} data-testid="person-create">
            Add person
          </button>
          {created && (
            <span className="action-ok" role="status" data-testid="action-ok">
              Added {created}. To sign in they need an API token, which an admin creates for them.
            </span>
          )}
        </div>
        <FormAlert errors={errors} />
      </form>
    </Panel>
  );
}

function EditPersonRow({ person, tree, roles, onClose }: { person: Person; tree: Tree; roles: Role[]; onClose: () => void }) {
  const [name, setName] = useState(person.name);
  const [email, setEmail] = useState(person.email);
  const [buId, setBuId] = useState(person.bu.id);
  const [role, setRole] = useState<Role>(person.role);
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [{ fetching }, update] = useMutation(UpdatePerson);
  // The person's current BU stays selectable even when it is outside the list.
  const buChoices = tree.some((t) => t.bu.id === person.bu.id) ? tree : [{ bu: { ...person.bu, depth: 0, active: true, parent: null }, depth: 0 }, ...tree];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input = {
      id: person.id,
      ...(name.trim() !== person.name ? { name: name.trim() } : {}),
      ...(email.trim() !== person.email ? { email: email.trim() } : {}),
      ...(buId !== person.bu.id ? { buId } : {}),
      ...(role !== person.role ? { role } : {}),
    };
    const errs = formErrors(await update({ input }), (d) => d.updatePerson, ['name', 'email', 'buId', 'role']);
    setErrors(errs);
    if (!errs) onClose();
  };

  return (
    <tr className="edit-row" data-testid="person-edit-row" data-login={person.login}>
      <td colSpan={7}>
        <form className="admin-form" onSubmit={submit} data-testid="person-edit-form">
          <span className="mono strong">{person.login}</span>
          <Field label="Name" name="name" errors={errors}>
            <input type="text" value={name} onChange={(e) => setName(e.target.value)} required data-testid="person-edit-name" />
          </Field>
          <Field label="Email" name="email" errors={errors}>
            <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} data-testid="person-edit-email" />
          </Field>
          <Field label="BU" name="buId" errors={errors}>
            <BUSelect tree={buChoices} value={buId} onChange={setBuId} label="Move to BU" testId="person-edit-bu" />
          </Field>
          <Field label="Role" name="role" errors={errors}>
            <select value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="Role" data-testid="person-edit-role">
              {roles.map((r) => (
                <option key={r} value={r}>
                  {humanizeEnum(r)}
                </option>
              ))}
            </select>
          </Field>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="person-save">
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

function DeactivatePersonButton({ person }: { person: Person }) {
  const [confirm, setConfirm] = useState(false);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [{ fetching }, deactivate] = useMutation(DeactivatePerson);
  if (!confirm) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setConfirm(true)} data-testid="person-deactivate">
        Deactivate
      </button>
    );
  }
  return (
    <form
      className="revoke-confirm"
      onSubmit={async (e) => {
        e.preventDefault();
        const errs = formErrors(await deactivate({ input: { id: person.id, ...(reason.trim() ? { reason: reason.trim() } : {}) } }), (d) => d.deactivatePerson, []);
        setErrors(errs);
        if (!errs) setConfirm(false);
      }}
    >
      <input type="text" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Reason (optional)" aria-label="Reason" data-testid="person-deactivate-reason" />
      <button type="submit" className="btn btn-small btn-danger" disabled={fetching} data-testid="person-deactivate-confirm" title="Their sessions end and their tokens are revoked at once">
        Deactivate {person.login}
      </button>
      <button type="button" className="btn btn-small" onClick={() => setConfirm(false)}>
        Keep
      </button>
      <FormAlert errors={errors} />
    </form>
  );
}

function PeopleScreen() {
  const { ctx, error: ctxError, refetch: refetchCtx } = useAdminContext();
  const [buFilter, setBuFilter] = useState('');
  const [roleFilter, setRoleFilter] = useState<Role | ''>('');
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 300);
  const [editing, setEditing] = useState<string | null>(null);

  const listing = JSON.stringify([buFilter, roleFilter, search]);
  const [stored, setPosition] = useState<PagerPosition>({ key: listing, cursor: {}, index: 0 });
  const position = positionFor(stored, listing);
  const variables = useMemo(
    () => ({
      ...pageVariables(PAGE_SIZE, position.cursor),
      filter: { ...(buFilter ? { buId: buFilter } : {}), ...(roleFilter ? { role: roleFilter } : {}), ...(search ? { search } : {}) },
    }),
    [position.cursor, buFilter, roleFilter, search],
  );
  const [{ data, error, fetching }, reexecute] = useQuery({ query: AdminPeopleQuery, variables });
  const refetch = () => reexecute({ requestPolicy: 'network-only' });
  const people = data?.people;
  const myRole = ctx?.me.role ?? 'VIEWER';
  const roles = grantableRoles(myRole);
  const mayManage = (p: Person) => p.active && p.id !== ctx?.me.person.id && roleAtLeast(myRole, p.role);

  return (
    <div className="page" data-testid="admin-people-page">
      <div className="page-head">
        <h1 className="page-title">People</h1>
        <div className="page-sub">
          {myRole === 'ADMIN'
            ? 'Everyone in the organisation. Deactivating a person ends their sessions and revokes their tokens at once.'
            : `The people of ${ctx ? `${ctx.me.person.bu.name} (${ctx.me.person.bu.code})` : 'your BU'} and the BUs under it; you may give roles up to your own.`}
        </div>
      </div>
      {ctxError && <ErrorPanel error={ctxError} onRetry={refetchCtx} />}
      {ctx && (
        <CreatePersonForm
          key={ctx.me.person.bu.id}
          tree={ctx.manageable.filter((t) => t.bu.active)}
          roles={roles}
          defaultBu={ctx.manageable.some((t) => t.bu.id === ctx.me.person.bu.id) ? ctx.me.person.bu.id : (ctx.manageable[0]?.bu.id ?? '')}
          onDone={refetch}
        />
      )}
      {error && <ErrorPanel error={error} onRetry={refetch} />}
      {!data && fetching && <Loading what="Loading people" />}
      {people && (
        <Panel
          title={
            <>
              People <span className="count" data-testid="people-total">{formatNumber(people.totalCount)}</span>
            </>
          }
          actions={
            <div className="filters">
              {ctx && <BUSelect tree={ctx.manageable} value={buFilter} onChange={setBuFilter} label="Filter by BU (and its subtree)" empty={myRole === 'ADMIN' ? 'All BUs' : 'My BU subtree'} testId="people-bu-filter" />}
              <select value={roleFilter} onChange={(e) => setRoleFilter(e.target.value as Role | '')} aria-label="Filter by role" data-testid="people-role-filter">
                <option value="">All roles</option>
                {ALL_ROLES.map((r) => (
                  <option key={r} value={r}>
                    {humanizeEnum(r)}
                  </option>
                ))}
              </select>
              <input type="search" placeholder="Search login or name" value={text} onChange={(e) => setText(e.target.value)} aria-label="Search people" data-testid="people-search" />
              {fetching && <span className="spinner" aria-label="Refreshing" />}
            </div>
          }
        >
          <div className="table-wrap">
            <table className="table" data-testid="people-table">
              <thead>
                <tr>
                  <th>Login</th>
                  <th>Name</th>
                  <th>Email</th>
                  <th>BU</th>
                  <th>Role</th>
                  <th>Since</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {people.nodes.map((p) =>
                  editing === p.id && ctx ? (
                    <EditPersonRow key={p.id} person={p} tree={ctx.manageable.filter((t) => t.bu.active)} roles={roles.includes(p.role) ? roles : [p.role, ...roles]} onClose={() => setEditing(null)} />
                  ) : (
                    <tr key={p.id} data-testid="person-row" data-login={p.login} data-role={p.role} data-bu={p.bu.code} data-active={p.active}>
                      <td className="mono strong">{p.login}</td>
                      <td>{p.name}</td>
                      <td>{p.email || <span className="muted">—</span>}</td>
                      <td title={p.bu.name}>{p.bu.code}</td>
                      <td>
                        {humanizeEnum(p.role)} {!p.active && <Badge tone="muted">Inactive</Badge>}
                      </td>
                      <td>{formatDate(p.createdAt)}</td>
                      <td className="nowrap">
                        {mayManage(p) && (
                          <>
                            <button type="button" className="btn btn-small" onClick={() => setEditing(p.id)} data-testid="person-edit">
                              Edit
                            </button>{' '}
                            <DeactivatePersonButton person={p} />
                          </>
                        )}
                      </td>
                    </tr>
                  ),
                )}
                {!people.nodes.length && (
                  <tr>
                    <td colSpan={7} className="empty">
                      No people match these filters.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <ListingPager info={people.pageInfo} position={position} onMove={setPosition} shown={people.nodes.length} total={people.totalCount} size={PAGE_SIZE} busy={fetching} />
        </Panel>
      )}
    </div>
  );
}

export function AdminPeople() {
  return (
    <AdminGate screen="people">
      <PeopleScreen />
    </AdminGate>
  );
}
