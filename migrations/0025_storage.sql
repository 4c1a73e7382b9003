-- 0025 storage: dataset sizes from OpenLineage outputStatistics
-- (internal/lineage) and a storage price on rate cards (internal/cost).
--
-- run_io keeps, per run and dataset written, the size and row count the run
-- reported (NULL: not reported). dataset_size keeps each dataset's current
-- size, as the latest sized write left it, with the job and run that wrote
-- it: one row per dataset, rewritten by lineage from run_io. Billing reads
-- the size as of a day through run_io_size_idx (docs/cost.md, "Storage").
ALTER TABLE run_io
    ADD COLUMN size_bytes bigint CHECK (size_bytes >= 0),
    ADD COLUMN row_count  bigint CHECK (row_count >= 0);
-- A dataset's sized writes, newest first: the size as of any time is one
-- index seek per dataset.
CREATE INDEX run_io_size_idx ON run_io (dataset_id, at DESC, run_id DESC) INCLUDE (job_id, size_bytes)
    WHERE direction = 'WRITE' AND size_bytes IS NOT NULL;

CREATE TABLE dataset_size (
    dataset_id  bigint PRIMARY KEY REFERENCES dataset (id),
    job_id      bigint NOT NULL,
    run_id      bigint NOT NULL,
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    row_count   bigint CHECK (row_count >= 0),
    at          timestamptz NOT NULL
);
CREATE INDEX dataset_size_job_idx ON dataset_size (job_id);

-- Storage: a price per TB-day (TB = 10^12 bytes) of the datasets written by
-- the jobs of the clusters the card prices.
ALTER TABLE rate_card
    ADD COLUMN storage_tb_day numeric(18, 6) NOT NULL DEFAULT 0 CHECK (storage_tb_day >= 0);

ALTER TABLE bill_line DROP CONSTRAINT bill_line_resource_check;
ALTER TABLE bill_line ADD CONSTRAINT bill_line_resource_check
    CHECK (resource IN ('CPU', 'MEMORY', 'IDLE', 'OVERHEAD', 'ROUNDING', 'STORAGE'));

-- A cluster's stored TB-days and their cost (rounded to the cent), part of
-- its total since 0025.
ALTER TABLE cost_cluster_day
    ADD COLUMN stored_tb_days  numeric NOT NULL DEFAULT 0,
    ADD COLUMN storage_amount  numeric(18, 2) NOT NULL DEFAULT 0;
