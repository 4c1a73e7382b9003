-- 0019 hardware faults and repair (DAM): the faults hosts' hardware reports or
-- people record, the repair tickets that take a faulty host out of service and
-- bring it back (or retire it), and each host's lifecycle (in service since,
-- warranty, hardware generation), from which failure rates per 100 machine-years
-- are computed. The host itself stays the inventory's: the repair workflow moves
-- host.state through internal/inventory, never here.
--
-- Owned by internal/hardware.

-- A repair ticket: OPEN → IN_REPAIR → RESOLVED | REPLACED. At most one ticket
-- per host is unfinished (OPEN or IN_REPAIR), so every new fault of a host in
-- repair joins its ticket.
CREATE TABLE repair_ticket (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id       bigint NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    state         text NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'IN_REPAIR', 'RESOLVED', 'REPLACED')),
    opened_at     timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    opened_by     bigint REFERENCES person (id),
    assignee_id   bigint REFERENCES person (id),
    -- The host's state when repair started, so a resolved repair can say what
    -- it returned from.
    host_state_before text NOT NULL DEFAULT '',
    -- 'sim' marks tickets of the simulated demo fleet.
    origin        text NOT NULL DEFAULT 'person' CHECK (origin IN ('person', 'api', 'sim')),
    CHECK ((state IN ('RESOLVED', 'REPLACED')) = (closed_at IS NOT NULL))
);
CREATE UNIQUE INDEX repair_ticket_open_host_key ON repair_ticket (host_id) WHERE state IN ('OPEN', 'IN_REPAIR');
CREATE INDEX repair_ticket_state_idx ON repair_ticket (state, id DESC);
CREATE INDEX repair_ticket_host_idx ON repair_ticket (host_id, id DESC);

-- Each step of a ticket, with who and why (the audit log holds the same steps
-- with their input; this is the ticket's own history, shown with it).
CREATE TABLE repair_ticket_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES repair_ticket (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    person_id   bigint REFERENCES person (id),
    actor       text NOT NULL,
    from_state  text NOT NULL DEFAULT '',
    to_state    text NOT NULL,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX repair_ticket_event_ticket_idx ON repair_ticket_event (ticket_id, id);

CREATE TABLE hardware_fault (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id      bigint NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    component    text NOT NULL CHECK (component IN ('DISK', 'MEMORY', 'NIC', 'CPU', 'PSU', 'BOARD')),
    -- What went wrong, in the reporter's words: EDAC_UE, SMART_REALLOCATED,
    -- MACHINE_FAIL …; upper case, digits and '_'.
    kind         text NOT NULL CHECK (kind ~ '^[A-Z][A-Z0-9_]{0,63}$'),
    severity     text NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    detected_at  timestamptz NOT NULL,
    -- Who reported it: an importer, a host's agent, a person, an external tool
    -- through the API, or the simulated demo fleet.
    source       text NOT NULL CHECK (source IN ('import', 'agent', 'person', 'api', 'sim')),
    -- The reporter's idempotency key: a fault reported twice with the same key
    -- is stored once. NULL: no key, every report is a new fault.
    source_ref   text CHECK (length(source_ref) BETWEEN 1 AND 200),
    detail       text NOT NULL DEFAULT '',
    -- Follows the fault's ticket: OPEN (no ticket, or an OPEN one), IN_REPAIR,
    -- RESOLVED, REPLACED.
    status       text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'IN_REPAIR', 'RESOLVED', 'REPLACED')),
    ticket_id    bigint REFERENCES repair_ticket (id) ON DELETE SET NULL,
    reported_by  bigint REFERENCES person (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT hardware_fault_source_ref_key UNIQUE (host_id, source, source_ref)
);
CREATE INDEX hardware_fault_host_idx ON hardware_fault (host_id, detected_at DESC, id DESC);
CREATE INDEX hardware_fault_detected_idx ON hardware_fault (detected_at DESC, id DESC);
CREATE INDEX hardware_fault_ticket_idx ON hardware_fault (ticket_id) WHERE ticket_id IS NOT NULL;

-- A host's life as hardware: when it entered service (NULL: not known), since
-- when Tesla would have seen its faults (the start of its exposure when the
-- in-service date is unknown), its warranty and its hardware generation.
CREATE TABLE host_lifecycle (
    host_id        bigint PRIMARY KEY REFERENCES host (id) ON DELETE CASCADE,
    in_service_at  timestamptz,
    tracked_since  timestamptz NOT NULL DEFAULT now(),
    -- Until when a source watched the host (an imported trace ends); NULL:
    -- still watched. Exposure stops there, so a trace's day is not counted as
    -- years without faults.
    tracked_until  timestamptz,
    warranty_end   date,
    generation     text NOT NULL DEFAULT '',
    -- Where the dates come from: a person, an importer, or the simulated demo fleet.
    source         text NOT NULL DEFAULT 'person' CHECK (source IN ('person', 'import', 'sim')),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
