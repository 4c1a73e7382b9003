-- Registers a package (at now() unless @registered_at is set: a bulk load's
-- time, so seeds are reproducible); no row when (service, version) is already registered.
INSERT INTO service_package (service, version, build, checksum, source_kind, source_uri, source_ref,
                             start_order, stop_order, health_kind, health_target, health_timeout_ms,
                             restart_policy, max_restarts, operations, registered_at)
VALUES (@service, @version, @build, @checksum, @source_kind, @source_uri, @source_ref,
        @start_order, @stop_order, @health_kind, @health_target, @health_timeout_ms,
        @restart_policy, @max_restarts, '{}', COALESCE(@registered_at::timestamptz, now()))
ON CONFLICT (service, version) DO NOTHING
RETURNING id
