-- The control plane's durable state. Every state change is a row written before anything observable happens.
-- Migration numbers by owner: 0001-0009 control plane, 0010-0019 IronProxy, 0020-0029 Slack,
-- 0030-0039 sandboxes, 0040-0049 tools and workflows, 0050+ later work.

CREATE TABLE api_clients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    key_prefix  text        NOT NULL,            -- shown to operators; never enough to authenticate
    key_hash    bytea       NOT NULL UNIQUE,     -- SHA-256 of the whole key
    scopes      text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Which runtime a thread is pinned to; assignment_generation increments on every re-pin.
CREATE TABLE agent_runtime_assignments (
    thread_key            text PRIMARY KEY,
    harness               text        NOT NULL,
    persona               text,
    repo                  text,
    backend               text        NOT NULL,
    assignment_generation int         NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_sessions (
    thread_key             text PRIMARY KEY REFERENCES agent_runtime_assignments (thread_key),
    backend                text        NOT NULL,
    sandbox_id             text,
    state                  text        NOT NULL DEFAULT 'none'
        CHECK (state IN ('none', 'spawning', 'ready', 'running', 'suspended', 'stopped', 'failed')),
    harness                text        NOT NULL,
    persona                text,
    inflight_turn_id       text,
    inflight_execution_id  bigint,
    inflight_payload       jsonb,
    inflight_started_at    timestamptz,
    attempts               int         NOT NULL DEFAULT 0,
    last_result_cursor     bigint,
    harness_session_id     text,
    sandbox_generation     int,              -- the assignment_generation the live sandbox was started for
    last_activity_at       timestamptz NOT NULL DEFAULT now(),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_sessions_sandbox ON sandbox_sessions (sandbox_id) WHERE sandbox_id IS NOT NULL;

-- Inbound messages, idempotent per (thread, client_message_id). execution_id marks the turn that consumed them.
CREATE TABLE agent_message_requests (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_key        text        NOT NULL REFERENCES agent_runtime_assignments (thread_key),
    client_message_id text        NOT NULL,
    author            text        NOT NULL,
    text              text        NOT NULL,
    attachments       jsonb       NOT NULL DEFAULT '[]',
    execution_id      bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (thread_key, client_message_id)
);
CREATE INDEX agent_message_requests_pending ON agent_message_requests (thread_key, id) WHERE execution_id IS NULL;

-- The transcript as people and the agent see it.
CREATE TABLE chat_messages (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_key         text        NOT NULL REFERENCES agent_runtime_assignments (thread_key),
    role               text        NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    author             text,
    text               text        NOT NULL,
    message_request_id bigint REFERENCES agent_message_requests (id),
    execution_id       bigint,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_thread ON chat_messages (thread_key, id);

CREATE TABLE agent_execution_requests (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_key          text        NOT NULL REFERENCES agent_runtime_assignments (thread_key),
    idempotency_key     text        NOT NULL,
    state               text        NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    resume_of           bigint REFERENCES agent_execution_requests (id),
    turn_id             text,
    attempts            int         NOT NULL DEFAULT 0,
    lease_owner         text,
    lease_expires_at    timestamptz,
    cancel_requested_at timestamptz,
    result_text         text,
    error               jsonb,
    usage               jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    UNIQUE (thread_key, idempotency_key)
);
-- Executions of one thread run strictly one at a time.
CREATE UNIQUE INDEX agent_execution_requests_one_running ON agent_execution_requests (thread_key) WHERE state = 'running';
CREATE INDEX agent_execution_requests_queue ON agent_execution_requests (id) WHERE state IN ('queued', 'running');

-- The event log every stream replays. Writers of one thread serialize on an advisory lock, so within a
-- thread the id order is the commit order and "id > after_event_id" never skips a late commit.
CREATE TABLE agent_execution_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_key   text        NOT NULL,
    execution_id bigint      NOT NULL REFERENCES agent_execution_requests (id),
    type         text        NOT NULL,
    data         jsonb       NOT NULL,
    raw          jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_execution_events_thread ON agent_execution_events (thread_key, id);
CREATE INDEX agent_execution_events_execution ON agent_execution_events (execution_id, id);

CREATE FUNCTION notify_agent_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('centaur_events', NEW.thread_key);
    RETURN NULL;
END $$;
CREATE TRIGGER agent_execution_events_notify AFTER INSERT ON agent_execution_events
    FOR EACH ROW EXECUTE FUNCTION notify_agent_event();

-- One row per execution whose final answer must reach a client (e.g. a Slack thread).
CREATE TABLE agent_final_delivery_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id     bigint      NOT NULL UNIQUE REFERENCES agent_execution_requests (id),
    thread_key       text        NOT NULL,
    client           text        NOT NULL,
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'delivered')),
    claimed_by       text,
    lease_expires_at timestamptz,
    attempts         int         NOT NULL DEFAULT 0,
    external_ref     text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX agent_final_delivery_outbox_open ON agent_final_delivery_outbox (client, id) WHERE state <> 'delivered';

-- The side-effect ledger: written BEFORE a tool call or a non-GET/HEAD egress request is forwarded, so a
-- sandbox that dies mid-turn is replayed only when nothing has happened yet.
CREATE TABLE side_effects (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_key   text        NOT NULL,
    execution_id bigint,
    turn_id      text,
    source       text        NOT NULL CHECK (source IN ('tool', 'egress')),
    method       text        NOT NULL,
    target       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX side_effects_turn ON side_effects (thread_key, turn_id);

-- Every tool-gateway call, for audit (the side_effects row is written before the call; this one after it).
CREATE TABLE tool_calls (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_key   text        NOT NULL,
    sandbox_id   text        NOT NULL,
    execution_id bigint,
    turn_id      text,
    tool         text        NOT NULL,
    method       text        NOT NULL,
    outcome      text        NOT NULL,
    duration_ms  double precision NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tool_calls_thread ON tool_calls (thread_key, id);
