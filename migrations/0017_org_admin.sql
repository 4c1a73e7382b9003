-- 0017 organisation admin: BUs, people, clusters and hosts are managed through the
-- API and `tesla import inventory`, not only created by the demo seed.
--
-- A BU is deactivated, never deleted (people, clusters and the audit log refer to
-- it). A host may be registered with its hostname alone: its hardware is unknown,
-- 0, until its agent reports it, so cpu_cores and memory_bytes accept 0. Every
-- reader that divides by them treats 0 as unknown (see docs/architecture.md).

ALTER TABLE bu ADD COLUMN active boolean NOT NULL DEFAULT true;

ALTER TABLE host DROP CONSTRAINT host_cpu_cores_check;
ALTER TABLE host ADD CONSTRAINT host_cpu_cores_check CHECK (cpu_cores >= 0);
ALTER TABLE host DROP CONSTRAINT host_memory_bytes_check;
ALTER TABLE host ADD CONSTRAINT host_memory_bytes_check CHECK (memory_bytes >= 0);
