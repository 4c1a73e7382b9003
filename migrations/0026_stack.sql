-- 0026 stack: typed service package metadata and partial stack versions
-- (owner: internal/stack, which alone writes stack, stack_version,
-- service_package, service_package_dependency and stack_version_package).
--
-- A package's version information (version, build, checksum, source) stays on
-- service_package; its dependency and operation information becomes typed:
-- depends-on rows in service_package_dependency (service, version constraint),
-- and start/stop order, health check and restart policy as columns. The JSON
-- column depends_on is migrated into the new table and dropped. The JSON column
-- operations stays: the host agent still reads its process/unit templates
-- (internal/inventory/agent.go); its start/stop/check/restart keys are copied
-- into the typed columns here and nothing reads them from the JSON any more.
--
-- Growth: a few hundred packages (services × versions), a handful of
-- dependencies each, tens of stack versions; none grows with the fleet.
ALTER TABLE service_package
    ADD COLUMN build             text NOT NULL DEFAULT '',
    ADD COLUMN source_ref        text NOT NULL DEFAULT '',
    ADD COLUMN start_order       integer NOT NULL DEFAULT 0,
    ADD COLUMN stop_order        integer NOT NULL DEFAULT 0,
    ADD COLUMN health_kind       text CHECK (health_kind IN ('HTTP', 'TCP', 'COMMAND')),
    ADD COLUMN health_target     text,
    ADD COLUMN health_timeout_ms integer CHECK (health_timeout_ms > 0),
    ADD COLUMN restart_policy    text NOT NULL DEFAULT 'ON_FAILURE'
                                 CHECK (restart_policy IN ('ALWAYS', 'ON_FAILURE', 'NEVER')),
    ADD COLUMN max_restarts      integer NOT NULL DEFAULT 3 CHECK (max_restarts >= 0),
    ADD COLUMN registered_at     timestamptz NOT NULL DEFAULT now(),
    -- a health check is all three fields or none
    ADD CONSTRAINT service_package_health_check CHECK (
        (health_kind IS NULL) = (health_target IS NULL) AND (health_kind IS NULL) = (health_timeout_ms IS NULL));

-- Dependencies: one row per (package, service depended on). position keeps the
-- declared order, which the UI shows.
CREATE TABLE service_package_dependency (
    package_id         bigint NOT NULL REFERENCES service_package (id) ON DELETE CASCADE,
    service            text NOT NULL,
    version_constraint text NOT NULL DEFAULT '*',
    position           smallint NOT NULL,
    PRIMARY KEY (package_id, service)
);
-- "Which packages depend on SERVICE": impact of a service's upgrade.
CREATE INDEX service_package_dependency_service_idx ON service_package_dependency (service);

-- Existing rows: depends_on was a JSON array of {"service", "version"}; a
-- missing version meant any.
INSERT INTO service_package_dependency (package_id, service, version_constraint, position)
SELECT sp.id, upper(d.elem->>'service'), COALESCE(NULLIF(btrim(d.elem->>'version'), ''), '*'), d.ord
FROM service_package sp
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(sp.depends_on) = 'array' THEN sp.depends_on ELSE '[]' END)
     WITH ORDINALITY AS d(elem, ord)
WHERE COALESCE(d.elem->>'service', '') <> ''
ON CONFLICT (package_id, service) DO NOTHING;

-- operations held "check" (a command) and "restart_policy" (on-failure...);
-- a git source held its ref after '#'.
UPDATE service_package SET
    health_kind       = CASE WHEN COALESCE(operations->>'check', '') <> '' THEN 'COMMAND' END,
    health_target     = NULLIF(operations->>'check', ''),
    health_timeout_ms = CASE WHEN COALESCE(operations->>'check', '') <> '' THEN 10000 END,
    restart_policy    = CASE upper(replace(COALESCE(operations->>'restart_policy', ''), '-', '_'))
                            WHEN 'ALWAYS' THEN 'ALWAYS' WHEN 'NEVER' THEN 'NEVER' ELSE 'ON_FAILURE' END
WHERE jsonb_typeof(operations) = 'object';
UPDATE service_package SET source_uri = split_part(source_uri, '#', 1), source_ref = split_part(source_uri, '#', 2)
WHERE source_kind = 'GIT' AND source_uri LIKE '%#%';

ALTER TABLE service_package DROP COLUMN depends_on;

-- A partial stack version upgrades only the services it contains; the others
-- stay as the cluster's current version has them.
ALTER TABLE stack_version ADD COLUMN partial boolean NOT NULL DEFAULT false;

-- "Which stack versions ship this package" (the PK leads with the version).
CREATE INDEX stack_version_package_package_idx ON stack_version_package (service_package_id);
