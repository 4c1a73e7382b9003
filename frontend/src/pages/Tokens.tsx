// Governance → My tokens: the API tokens of the signed-in person (admins may
// list everyone's), a form to create one — its secret is shown once, right
// after creation, and never again — and revocation.
import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf, type Role } from '../graphql';
import { grantableRoles, useSession } from '../lib/hooks';
import { formatDateTime, formatRelative, humanizeEnum } from '../lib/format';
import { refusal } from '../lib/mutation';
import { Badge, ErrorPanel, Loading, Panel, SecretBox } from '../components/ui';

const TokenFields = graphql(`
  fragment TokenFields on ApiToken {
    id
    name
    prefix
    role
    person {
      id
      login
      name
    }
    createdAt
    expiresAt
    revokedAt
    lastUsedAt
  }
`);

export const ApiTokensQuery = graphql(
  `
    query ApiTokens {
      apiTokens(first: 100) {
        totalCount
        nodes {
          ...TokenFields
        }
      }
    }
  `,
  [TokenFields],
);

export const CreateApiToken = graphql(
  `
    mutation CreateApiToken($input: CreateApiTokenInput!) {
      createApiToken(input: $input) {
        apiToken {
          ...TokenFields
        }
        token
        userErrors {
          field
          message
          code
        }
      }
    }
  `,
  [TokenFields],
);

export const RevokeApiToken = graphql(`
  mutation RevokeApiToken($input: RevokeApiTokenInput!) {
    revokeApiToken(input: $input) {
      apiToken {
        id
        revokedAt
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

type Token = ResultOf<typeof TokenFields>;

/** Lifetimes offered for a new token (Go durations), "" for no expiry. */
export const LIFETIMES: Array<{ value: string; label: string }> = [
  { value: '720h', label: '30 days' },
  { value: '2160h', label: '90 days' },
  { value: '8760h', label: '1 year' },
  { value: '', label: 'Never expires' },
];

/** Whether a token still works at `now`: not revoked and not expired. */
export function tokenStatus(t: Pick<Token, 'revokedAt' | 'expiresAt'>, now = Date.now()): 'ACTIVE' | 'REVOKED' | 'EXPIRED' {
  if (t.revokedAt) return 'REVOKED';
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= now) return 'EXPIRED';
  return 'ACTIVE';
}

const STATUS_TONE = { ACTIVE: 'good', REVOKED: 'muted', EXPIRED: 'warn' } as const;

function CreateToken({ role }: { role: Role }) {
  const roles = grantableRoles(role);
  const [name, setName] = useState('');
  const [tokenRole, setTokenRole] = useState<Role>(roles[0] ?? 'VIEWER');
  const [lifetime, setLifetime] = useState('720h');
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ token: string; name: string } | null>(null);
  const [{ fetching }, create] = useMutation(CreateApiToken);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSecret(null);
    const res = await create({ input: { name: name.trim(), role: tokenRole, ...(lifetime ? { expiresIn: lifetime } : {}) } });
    const why = refusal(res, (d) => d.createApiToken);
    if (why) {
      setError(why);
      return;
    }
    setSecret({ token: res.data?.createApiToken.token ?? '', name: name.trim() });
    setName('');
  };

  return (
    <Panel title="New token">
      <form className="action-form" onSubmit={submit} data-testid="token-form">
        <input type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder="Name, e.g. laptop CLI" aria-label="Token name" data-testid="token-name" />
        <select value={tokenRole} onChange={(e) => setTokenRole(e.target.value as Role)} aria-label="Role" data-testid="token-role">
          {roles.map((r) => (
            <option key={r} value={r}>
              {humanizeEnum(r)}
            </option>
          ))}
        </select>
        <select value={lifetime} onChange={(e) => setLifetime(e.target.value)} aria-label="Lifetime" data-testid="token-lifetime">
          {LIFETIMES.map((l) => (
            <option key={l.value} value={l.value}>
              {l.label}
            </option>
          ))}
        </select>
        <button type="submit" className="btn btn-primary" disabled={fetching} data-testid="token-create">
          Create token
        </button>
      </form>
      {error && (
        <div className="action-error" role="alert" data-testid="action-error">
          {error}
        </div>
      )}
      {secret && (
        <SecretBox
          testId="token"
          title={<>Token {secret.name ? `“${secret.name}” ` : ''}created. Copy it now: it is shown only this once.</>}
          secret={secret.token}
          onDone={() => setSecret(null)}
        />
      )}
    </Panel>
  );
}

function RevokeButton({ token }: { token: Token }) {
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [{ fetching }, revoke] = useMutation(RevokeApiToken);
  if (!confirm) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setConfirm(true)} data-testid="token-revoke">
        Revoke
      </button>
    );
  }
  return (
    <span className="revoke-confirm">
      <button
        type="button"
        className="btn btn-small btn-danger"
        disabled={fetching}
        data-testid="token-revoke-confirm"
        onClick={async () => {
          const why = refusal(await revoke({ input: { id: token.id } }), (d) => d.revokeApiToken);
          if (why) setError(why);
          else setConfirm(false);
        }}
      >
        Revoke for good
      </button>
      <button type="button" className="btn btn-small" onClick={() => setConfirm(false)}>
        Keep
      </button>
      {error && (
        <span className="action-error" role="alert" data-testid="action-error">
          {error}
        </span>
      )}
    </span>
  );
}

export function Tokens() {
  const { session } = useSession();
  const [{ data, error, fetching }, reexecute] = useQuery({ query: ApiTokensQuery });
  const [everyone, setEveryone] = useState(false);
  const isAdmin = session.person.role === 'ADMIN';
  const tokens = useMemo(() => {
    const all = data?.apiTokens.nodes ?? [];
    const shown = everyone ? all : all.filter((t) => t.person.login === session.person.login);
    // Working tokens first, newest first within each group.
    return [...shown].sort((a, b) => Number(!!a.revokedAt) - Number(!!b.revokedAt) || b.createdAt.localeCompare(a.createdAt));
  }, [data, everyone, session.person.login]);

  return (
    <div className="page" data-testid="tokens-page">
      <div className="page-head">
        <h1 className="page-title">My tokens</h1>
        <div className="page-sub">API tokens sign in scripts, the CLI and this portal. A token carries a role no higher than yours; revoke the ones you no longer use.</div>
      </div>
      <CreateToken role={session.person.role} />
      {error && <ErrorPanel error={error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {!data && fetching && <Loading what="Loading tokens" />}
      {data && (
        <Panel
          title={
            <>
              Tokens <span className="count">{tokens.length}</span>
            </>
          }
          actions={
            isAdmin ? (
              <label className="check-label">
                <input type="checkbox" checked={everyone} onChange={(e) => setEveryone(e.target.checked)} data-testid="tokens-everyone" /> Everyone's
              </label>
            ) : undefined
          }
        >
          <div className="table-wrap">
            <table className="table" data-testid="tokens-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Prefix</th>
                  {everyone && <th>Owner</th>}
                  <th>Role</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th>Last used</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => {
                  const status = tokenStatus(t);
                  return (
                    <tr key={t.id} data-testid="token-row" data-name={t.name} data-status={status}>
                      <td className="strong">{t.name || <span className="muted">unnamed</span>}</td>
                      <td className="mono">{t.prefix}…</td>
                      {everyone && <td>{t.person.login}</td>}
                      <td>{humanizeEnum(t.role)}</td>
                      <td>
                        <Badge tone={STATUS_TONE[status]}>{humanizeEnum(status)}</Badge>
                      </td>
                      <td title={formatDateTime(t.createdAt, true)}>{formatRelative(t.createdAt)}</td>
                      <td>{t.expiresAt ? formatDateTime(t.expiresAt).slice(0, 10) : <span className="muted">never</span>}</td>
                      <td>{t.lastUsedAt ? formatRelative(t.lastUsedAt) : <span className="muted">never</span>}</td>
                      <td className="nowrap">{status === 'ACTIVE' && <RevokeButton token={t} />}</td>
                    </tr>
                  );
                })}
                {!tokens.length && (
                  <tr>
                    <td colSpan={everyone ? 9 : 8} className="empty">
                      No tokens yet.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        </Panel>
      )}
    </div>
  );
}
