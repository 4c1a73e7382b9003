-- HostCredentialAuthenticate finds a live credential by the hash of its secret,
-- with its host as it is now: a decommissioned host's credential is dead.
-- name: HostCredentialAuthenticate :one
SELECT c.id, c.host_id, h.hostname, h.cluster_id
FROM host_credential c JOIN host h ON h.id = c.host_id
WHERE c.secret_hash = @secret_hash
    AND c.revoked_at IS NULL
    AND h.state <> 'DECOMMISSIONED';
