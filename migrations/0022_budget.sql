-- 0022 budget: monthly budgets of people and BUs, the alerts raised when spend
-- or its forecast crosses a threshold, and the outbox their webhooks are
-- delivered from (internal/budget, docs/cost.md "Budgets").
--
-- A budget row applies from its month (valid_from, the 1st) until the owner's
-- next row; spend is read from the bills' daily sums, which internal/cost owns.

CREATE TABLE budget (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id    bigint REFERENCES person (id),
    bu_id        bigint REFERENCES bu (id),
    valid_from   date NOT NULL CHECK (extract(day FROM valid_from) = 1),
    amount       numeric(18, 2) NOT NULL CHECK (amount > 0),
    -- Percent of amount, ascending, each in 1..1000.
    thresholds   integer[] NOT NULL,
    webhook_url  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   bigint REFERENCES person (id),
    CONSTRAINT budget_one_owner CHECK ((person_id IS NULL) <> (bu_id IS NULL))
);
-- One budget per owner and month; the budget in force in a month is the
-- owner's row with the latest valid_from not after it.
CREATE UNIQUE INDEX budget_person_month ON budget (person_id, valid_from) WHERE person_id IS NOT NULL;
CREATE UNIQUE INDEX budget_bu_month ON budget (bu_id, valid_from) WHERE bu_id IS NOT NULL;

-- A threshold crossed by spend or forecast, raised once per owner, month,
-- kind and threshold: the unique constraint, not the evaluator's memory,
-- keeps repeated (or concurrent) evaluations from raising it again.
CREATE TABLE budget_alert (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    budget_id   bigint NOT NULL REFERENCES budget (id) ON DELETE CASCADE,
    person_id   bigint,
    bu_id       bigint,
    month       date NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('SPEND', 'FORECAST')),
    threshold   integer NOT NULL,
    value       numeric(18, 2) NOT NULL,
    amount      numeric(18, 2) NOT NULL,
    raised_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budget_alert_once UNIQUE NULLS NOT DISTINCT (person_id, bu_id, month, kind, threshold)
);
CREATE INDEX budget_alert_budget_idx ON budget_alert (budget_id, month);
CREATE INDEX budget_alert_month_idx ON budget_alert (month, id);

-- The webhook outbox: one delivery per alert of a budget with a URL, written
-- in the alert's transaction. Senders claim due rows with FOR UPDATE SKIP
-- LOCKED and a lease (next_attempt_at moved past the request timeout), so
-- several replicas never post the same attempt twice at once.
CREATE TABLE budget_webhook (
    alert_id        bigint PRIMARY KEY REFERENCES budget_alert (id) ON DELETE CASCADE,
    url             text NOT NULL,
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DELIVERED', 'GAVE_UP')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz
);
CREATE INDEX budget_webhook_due_idx ON budget_webhook (next_attempt_at) WHERE state = 'PENDING';

-- Each budget owner's spend of the current month as of the last evaluation
-- (the budget-alerts job, every 5 minutes), so listing thousands of budgets
-- by the share spent reads one row per owner instead of summing their bills.
-- Owners the job has not seen yet are summed from the bills on read;
-- updated_at is when the row last changed.
CREATE TABLE budget_spend (
    person_id     bigint,
    bu_id         bigint,
    month         date NOT NULL,
    spend         numeric(18, 2) NOT NULL,
    end_of_month  numeric(18, 2) NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budget_spend_owner UNIQUE NULLS NOT DISTINCT (month, person_id, bu_id)
);
