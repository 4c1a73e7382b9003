-- 0005 keyset indexes: keyset paging over the tables that grow without bound
-- needs an index per ordering. These cover each host ordering the API offers,
-- platform-wide and per cluster, and the audit log newest first by person and by
-- action. A page seeks one of them to its cursor and reads about one page of rows,
-- however deep it lies. LAST_HEARTBEAT is deliberately not indexed: heartbeats
-- rewrite it every minute, and an index on it would make every heartbeat a non-HOT
-- update of every index on host.

-- Per cluster: replace (cluster_id, hostname) and (cluster_id, state) by the full
-- keys, tie-breaker included; they still serve every query the old ones did. The
-- other orderings need theirs too: without (cluster_id, rack, id) the planner pages
-- a cluster by walking the platform-wide (rack, id) and dropping other clusters'
-- rows, which for a small cluster means reading nearly every host.
DROP INDEX host_cluster_idx;
DROP INDEX host_cluster_state_idx;
CREATE INDEX host_cluster_hostname_idx ON host (cluster_id, hostname, id);
CREATE INDEX host_cluster_state_idx ON host (cluster_id, state, id);
CREATE INDEX host_cluster_rack_idx ON host (cluster_id, rack, id);
CREATE INDEX host_cluster_cpu_cores_idx ON host (cluster_id, cpu_cores, id);
CREATE INDEX host_cluster_memory_bytes_idx ON host (cluster_id, memory_bytes, id);

-- Platform-wide. HOSTNAME is served by host_hostname_key (hostname is unique).
CREATE INDEX host_state_idx ON host (state, id);
CREATE INDEX host_rack_idx ON host (rack, id);
CREATE INDEX host_cpu_cores_idx ON host (cpu_cores, id);
CREATE INDEX host_memory_bytes_idx ON host (memory_bytes, id);

-- The audit log is listed newest first by id; a person's own entries (what every
-- non-admin sees) and one action's entries seek these.
DROP INDEX audit_log_person_idx;
CREATE INDEX audit_log_person_idx ON audit_log (person_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
