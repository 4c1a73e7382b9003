// Pieces the Administration screens share: the gate that keeps a screen to the
// roles that may use it, errors shown next to the field they name, the BU tree
// as a select, and the query for who is signed in and the BUs they can see.
import { useMemo, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf } from '../graphql';
import { useSession } from '../lib/hooks';
import { ADMIN_SCREEN_ROLES, buTree, mayOpen, subtreeIds, type AdminScreen } from '../lib/admin';
import { humanizeEnum } from '../lib/format';
import type { FormErrors } from '../lib/mutation';

export const AdminContextQuery = graphql(`
  query AdminContext {
    me {
      role
      person {
        id
        login
        bu {
          id
          code
          name
        }
      }
    }
    bus(first: 100) {
      totalCount
      nodes {
        id
        name
        code
        depth
        active
        parent {
          id
        }
      }
    }
  }
`);

export type AdminBU = ResultOf<typeof AdminContextQuery>['bus']['nodes'][number];

/**
 * Who is signed in and the BUs in reading order; for a BU admin, `manageable`
 * is their own BU subtree (everything for an admin).
 */
export function useAdminContext() {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: AdminContextQuery });
  const value = useMemo(() => {
    if (!data) return null;
    const bus = data.bus.nodes;
    const tree = buTree(bus);
    const own = subtreeIds(bus, data.me.person.bu.id);
    const manageable = data.me.role === 'ADMIN' ? tree : tree.filter((t) => own.has(t.bu.id));
    return { me: data.me, bus, tree, manageable, total: data.bus.totalCount };
  }, [data]);
  return { ctx: value, error, fetching, refetch: () => reexecute({ requestPolicy: 'network-only' }) };
}

/** Renders the screen only for the roles that may use it; others get a sentence saying so. */
export function AdminGate({ screen, children }: { screen: AdminScreen; children: ReactNode }) {
  const { session } = useSession();
  if (mayOpen(session.person.role, screen)) return <>{children}</>;
  return (
    <div className="page" data-testid="admin-refused">
      <h1 className="page-title">Not available to your role</h1>
      <section className="panel">
        <div className="panel-body">
          This screen is for {ADMIN_SCREEN_ROLES[screen].map(humanizeEnum).join(' and ')} roles; you are signed in as {humanizeEnum(session.person.role)}.
        </div>
      </section>
    </div>
  );
}

/** The server's messages about one field, shown under it. */
export function FieldError({ errors, name }: { errors: FormErrors | null; name: string }) {
  const msgs = errors?.byField[name];
  if (!msgs?.length) return null;
  return (
    <div className="field-error" role="alert" data-testid={`error-${name}`}>
      {msgs.join('; ')}
    </div>
  );
}

/** The messages of a refusal that name no field of the form. */
export function FormAlert({ errors }: { errors: FormErrors | null }) {
  if (!errors?.other.length) return null;
  return (
    <div className="action-error" role="alert" data-testid="action-error">
      {errors.other.join('; ')}
    </div>
  );
}

/** A labelled form field with the server's errors about it underneath. */
export function Field({ label, name, errors, children, wide }: { label: string; name: string; errors: FormErrors | null; children: ReactNode; wide?: boolean }) {
  return (
    <label className={`field${wide ? ' field-wide' : ''}${errors?.byField[name]?.length ? ' field-bad' : ''}`}>
      <span className="field-label">{label}</span>
      {children}
      <FieldError errors={errors} name={name} />
    </label>
  );
}

/** A select of BUs, indented as the tree. */
export function BUSelect({
  tree,
  value,
  onChange,
  label,
  testId,
  empty,
}: {
  tree: ReadonlyArray<{ bu: Pick<AdminBU, 'id' | 'name' | 'code' | 'active'>; depth: number }>;
  value: string;
  onChange: (id: string) => void;
  label: string;
  testId?: string;
  /** The text of a first, empty choice (none when absent). */
  empty?: string;
}) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} aria-label={label} data-testid={testId}>
      {empty !== undefined && <option value="">{empty}</option>}
      {tree.map(({ bu, depth }) => (
        <option key={bu.id} value={bu.id} disabled={!bu.active} data-code={bu.code}>
          {'\u00a0\u00a0'.repeat(depth)}
          {bu.name} ({bu.code}){bu.active ? '' : ' — inactive'}
        </option>
      ))}
    </select>
  );
}
