-- 0020 cost: rate cards, bill lines and their precomputed sums (internal/cost).
--
-- Money is numeric, never float: prices carry six decimals (a core-hour may
-- cost fractions of a cent), amounts two. The billing job (docs/cost.md)
-- replaces one day at a time in a transaction: the day's bill_line rows, the
-- sums below derived from them, and cost_cluster_day, the clusters' total cost
-- that the lines add up to exactly (the ROUNDING line takes what per-line
-- rounding left over). Budgets, leaderboards and health read the sums.
--
-- Growth: bill_line grows by about three rows per job and day (~300,000 a day
-- at 100,000 jobs). Its key leads with day, the column a later range
-- partitioning by month would use (docs/scaling.md).

-- A price list for one cluster kind or one cluster (exactly one of them), valid
-- for the days [valid_from, valid_to) (valid_to NULL: until further notice). A
-- card for a single cluster wins over its kind's. Cards for the same target may
-- not overlap: the service refuses one, naming the card it overlaps.
CREATE TABLE rate_card (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_kind        text CHECK (cluster_kind IN ('STREAMING', 'BATCH', 'ONLINE')),
    cluster_id          bigint REFERENCES cluster (id),
    valid_from          date NOT NULL,
    valid_to            date,
    core_hour           numeric(18, 6) NOT NULL CHECK (core_hour >= 0),
    memory_gb_hour      numeric(18, 6) NOT NULL CHECK (memory_gb_hour >= 0),
    -- A fixed platform overhead per month for each cluster the card prices,
    -- shared among the cluster's users by the installation's rule.
    overhead_per_month  numeric(18, 2) NOT NULL DEFAULT 0 CHECK (overhead_per_month >= 0),
    note                text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rate_card_one_target CHECK ((cluster_kind IS NULL) <> (cluster_id IS NULL)),
    CONSTRAINT rate_card_valid_range CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX rate_card_kind_idx ON rate_card (cluster_kind, valid_from) WHERE cluster_kind IS NOT NULL;
CREATE INDEX rate_card_cluster_idx ON rate_card (cluster_id, valid_from) WHERE cluster_id IS NOT NULL;

-- Who owned a job on a day, as billing first saw it. workload keeps only a
-- job's current owner and BU; billing records them per day so that a job moved
-- between BUs mid-month is charged to each BU for its own days, and re-billing
-- a past day keeps the owner of that day.
CREATE TABLE cost_job_owner_day (
    day        date NOT NULL,
    job_id     bigint NOT NULL,
    person_id  bigint,
    bu_id      bigint,
    PRIMARY KEY (day, job_id)
);

-- One bill line: what a job (or, for IDLE, OVERHEAD and ROUNDING lines without
-- a job, a BU) is charged on a cluster for a resource on a day. quantity is in
-- unit (core-hour, GB-hour, or the currency for shares), amount =
-- quantity x unit_price rounded to the cent for usage lines.
CREATE TABLE bill_line (
    day         date NOT NULL,
    cluster_id  bigint NOT NULL,
    resource    text NOT NULL CHECK (resource IN ('CPU', 'MEMORY', 'IDLE', 'OVERHEAD', 'ROUNDING')),
    job_id      bigint,
    person_id   bigint,
    bu_id       bigint,
    quantity    numeric NOT NULL,
    unit        text NOT NULL,
    unit_price  numeric NOT NULL,
    amount      numeric(18, 2) NOT NULL,
    rate_card_id bigint
);
-- Nothing is charged twice: one line per day, BU, cluster, resource and job.
-- The key leads with (day, bu_id), so it also serves a BU's lines of a period;
-- a person's and a job's lines have their own indexes. Three indexes only:
-- re-billing a day deletes and rewrites ~300,000 lines at benchmark size.
CREATE UNIQUE INDEX bill_line_key ON bill_line (day, bu_id, cluster_id, resource, job_id) NULLS NOT DISTINCT;
CREATE INDEX bill_line_person_idx ON bill_line (person_id, day) WHERE person_id IS NOT NULL;
CREATE INDEX bill_line_job_idx ON bill_line (job_id, day) WHERE job_id IS NOT NULL;

-- Sums of bill_line per day, written in the same transaction, so a month's
-- bill by BU, cluster or person reads a few thousand rows instead of millions.
CREATE TABLE bill_bu_day (
    day       date NOT NULL,
    bu_id     bigint,
    resource  text NOT NULL,
    quantity  numeric NOT NULL,
    amount    numeric(18, 2) NOT NULL
);
CREATE UNIQUE INDEX bill_bu_day_key ON bill_bu_day (day, bu_id, resource) NULLS NOT DISTINCT;

CREATE TABLE bill_cluster_day (
    day         date NOT NULL,
    cluster_id  bigint NOT NULL,
    bu_id       bigint,
    resource    text NOT NULL,
    quantity    numeric NOT NULL,
    amount      numeric(18, 2) NOT NULL
);
CREATE UNIQUE INDEX bill_cluster_day_key ON bill_cluster_day (day, cluster_id, bu_id, resource) NULLS NOT DISTINCT;

CREATE TABLE bill_person_day (
    day        date NOT NULL,
    person_id  bigint NOT NULL,
    bu_id      bigint,
    resource   text NOT NULL,
    quantity   numeric NOT NULL,
    amount     numeric(18, 2) NOT NULL
);
CREATE UNIQUE INDEX bill_person_day_key ON bill_person_day (person_id, day, bu_id, resource) NULLS NOT DISTINCT;
CREATE INDEX bill_person_day_day_idx ON bill_person_day (day);

-- A cluster's total cost of a day, which its bill lines add up to: capacity
-- (core-hours and GB-hours of the hours it ran, at least what jobs were
-- charged) at the card's prices and the day's overhead share. Storage is not
-- priced: lineage does not keep dataset sizes (docs/cost.md).
CREATE TABLE cost_cluster_day (
    day                 date NOT NULL,
    cluster_id          bigint NOT NULL,
    rate_card_id        bigint NOT NULL,
    hours               integer NOT NULL,
    capacity_core_hours numeric NOT NULL,
    capacity_gb_hours   numeric NOT NULL,
    charged_core_hours  numeric NOT NULL,
    charged_gb_hours    numeric NOT NULL,
    capacity_amount     numeric(18, 2) NOT NULL,
    usage_amount        numeric(18, 2) NOT NULL,
    idle_amount         numeric(18, 2) NOT NULL,
    overhead_amount     numeric(18, 2) NOT NULL,
    rounding_amount     numeric(18, 2) NOT NULL,
    total               numeric(18, 2) NOT NULL,
    billed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, cluster_id)
);
