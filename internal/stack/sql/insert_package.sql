-- Registers a package; no row when (service, version) is already registered.
INSERT INTO service_package (service, version, build, checksum, source_kind, source_uri, source_ref,
                             start_order, stop_order, health_kind, health_target, health_timeout_ms,
                             restart_policy, max_restarts, operations)
VALUES (@service, @version, @build, @checksum, @source_kind, @source_uri, @source_ref,
        @start_order, @stop_order, @health_kind, @health_target, @health_timeout_ms,
        @restart_policy, @max_restarts, '{}')
ON CONFLICT (service, version) DO NOTHING
RETURNING id, registered_at
