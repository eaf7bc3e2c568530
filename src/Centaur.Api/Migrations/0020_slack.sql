-- Centaur.Slack's delivery bookkeeping (the adapter keeps no agent state of its own beyond this).

-- Every inbound Slack delivery (HTTP or Socket Mode), stored BEFORE the adapter acknowledges it, then processed
-- asynchronously. delivery_id is Slack's event_id for events (a retried delivery carries the same one) and a
-- derived id for interactivity and slash commands; its uniqueness is the delivery dedupe.
CREATE TABLE slack_inbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   text        NOT NULL UNIQUE,
    kind          text        NOT NULL CHECK (kind IN ('event', 'interactive', 'command')),
    transport     text        NOT NULL CHECK (transport IN ('http', 'socket')),
    payload       jsonb       NOT NULL,
    retry_num     int         NOT NULL DEFAULT 0,
    attempts      int         NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    processed_at  timestamptz,
    outcome       text,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_inbox_pending ON slack_inbox (id) WHERE processed_at IS NULL;

-- One row per Slack message that asked for a turn, keyed on the message itself (slack:<channel>:<ts>), so the
-- same message arriving as app_mention AND message.* makes one turn. execution_id is the execution that
-- consumed it; folded marks a message that arrived while a turn ran and waits for the next one.
CREATE TABLE slack_turns (
    client_message_id text PRIMARY KEY,
    thread_key        text        NOT NULL,
    channel           text        NOT NULL,
    message_ts        text        NOT NULL,
    user_id           text        NOT NULL,
    execution_id      bigint,
    folded            boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_turns_waiting ON slack_turns (thread_key, created_at) WHERE execution_id IS NULL AND folded;

-- Per execution rendered into a Slack thread: the SSE cursor, the live text and the message being written, so a
-- restarted adapter resumes with after_event_id and edits the same message instead of posting a new one.
CREATE TABLE slack_replies (
    execution_id  bigint PRIMARY KEY,
    thread_key    text        NOT NULL,
    channel       text        NOT NULL,
    thread_ts     text        NOT NULL,
    trigger_ts    text,                      -- the user's message that carries the "working" reaction
    mode          text        NOT NULL DEFAULT 'update' CHECK (mode IN ('update', 'stream')),
    sse_cursor    bigint      NOT NULL DEFAULT 0,
    live_text     text        NOT NULL DEFAULT '',   -- completed assistant messages (Markdown)
    live_pending  text        NOT NULL DEFAULT '',   -- streamed deltas of the message in progress
    activity      text,                              -- the compact tool/status line
    live_ts       text,                      -- the message (or stream) being written now
    live_part     int         NOT NULL DEFAULT 0,
    streamed_chars    int     NOT NULL DEFAULT 0,    -- stream mode: characters of the Markdown sent with chat.*Stream
    stream_part_start int     NOT NULL DEFAULT 0,    -- stream mode: where the current stream message started
    recipient_user    text,                          -- who asked (chat.startStream needs it in channels)
    state         text        NOT NULL DEFAULT 'streaming' CHECK (state IN ('streaming', 'finishing', 'delivered')),
    final_ref     text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_replies_open ON slack_replies (execution_id) WHERE state <> 'delivered';
CREATE INDEX slack_replies_thread ON slack_replies (thread_key, execution_id);

-- The Slack messages of one reply, in order. A row is written (ts NULL) BEFORE the post, so a crash between the
-- post and storing its ts is repaired by finding the message through its metadata, never by posting again.
CREATE TABLE slack_reply_parts (
    execution_id  bigint      NOT NULL REFERENCES slack_replies (execution_id),
    part          int         NOT NULL,
    ts            text,
    text_hash     text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, part)
);
