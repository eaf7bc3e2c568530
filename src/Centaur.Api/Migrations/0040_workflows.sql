-- Durable workflows: a run per trigger, a row per completed step (its stored result is what a re-run gets back),
-- and the cron schedules' next fire times, shared by every API replica.

CREATE TABLE workflow_runs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow            text        NOT NULL,
    trigger             text        NOT NULL CHECK (trigger IN ('http', 'cron', 'slack', 'workflow')),
    idempotency_key     text,
    input               jsonb       NOT NULL DEFAULT '{}',
    state               text        NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'sleeping', 'succeeded', 'failed', 'cancelled')),
    result              jsonb,
    error               jsonb,
    attempts            int         NOT NULL DEFAULT 0,   -- claims by a worker (first run, re-runs after crashes and sleeps)
    failures            int         NOT NULL DEFAULT 0,   -- handler exceptions; retried with backoff up to a cap
    wake_at             timestamptz,                      -- sleeping / backing off: not claimable before this
    lease_owner         text,
    lease_expires_at    timestamptz,
    cancel_requested_at timestamptz,
    created_by          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow, idempotency_key)
);
CREATE INDEX workflow_runs_open ON workflow_runs (id) WHERE state IN ('queued', 'running', 'sleeping');
CREATE INDEX workflow_runs_by_workflow ON workflow_runs (workflow, id DESC);

CREATE TABLE workflow_steps (
    run_id       bigint      NOT NULL REFERENCES workflow_runs (id),
    name         text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
    result       jsonb,
    error        text,
    attempts     int         NOT NULL DEFAULT 1,
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE workflow_schedules (
    workflow      text PRIMARY KEY,
    cron          text        NOT NULL,
    time_zone     text        NOT NULL,
    next_fire_at  timestamptz NOT NULL,
    last_fired_at timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
