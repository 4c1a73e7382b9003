-- 0021 precomputed hardware reliability figures: the failure rates of the whole
-- history (by model, age and cluster) and the hosts to replace next, computed by
-- the hardware-reliability job so that the GraphQL reads answer from a few small
-- rows instead of reading every host's exposure (docs/hardware.md).
--
-- Owned by internal/hardware.

-- One row: generation counts the changes that move the figures (faults,
-- lifecycles, ticket steps, made through internal/hardware); the job records
-- the generation it computed, so a change since then makes its next run
-- recompute. computed_at NULL: never computed (reads compute on demand).
CREATE TABLE hardware_figures_state (
    id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation          bigint NOT NULL DEFAULT 0,
    computed_generation bigint,
    computed_at         timestamptz,
    took_ms             integer
);
INSERT INTO hardware_figures_state DEFAULT VALUES;

-- Faults and machine-years of each group over all history until computed_at;
-- the rate and its interval follow from them.
CREATE TABLE hardware_reliability (
    group_by      text NOT NULL CHECK (group_by IN ('MODEL', 'AGE', 'CLUSTER')),
    key           text NOT NULL,
    hosts         integer NOT NULL,
    machine_years float8 NOT NULL,
    faults        integer NOT NULL,
    PRIMARY KEY (group_by, key)
);

-- The hosts in service most worth replacing as of computed_at, best first
-- (the first 100), with the figures behind each score.
CREATE TABLE hardware_replacement (
    rank            integer PRIMARY KEY,
    host_id         bigint NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    model           text NOT NULL,
    model_rate      float8 NOT NULL,
    age_factor      float8 NOT NULL,
    in_service_at   timestamptz,
    warranty_end    timestamptz,
    out_of_warranty boolean NOT NULL,
    recent_faults   integer NOT NULL,
    faults          integer NOT NULL,
    score           float8 NOT NULL
);
