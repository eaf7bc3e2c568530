-- Messages Centaur.Slack posts beside an answer: the Stop controls of a natively streamed answer (chat.startStream
-- takes no blocks, so the button lives in a small message of its own, deleted when the turn ends) and one
-- "Allow <host> for this thread" notice per host the proxy refused during the turn. Like slack_reply_parts, a row is
-- written (ts NULL) before the post, so a restarted adapter finds the message by its metadata instead of posting again.
CREATE TABLE slack_notices (
    execution_id  bigint      NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('controls', 'egress_blocked')),
    key           text        NOT NULL DEFAULT '',   -- the host for egress_blocked
    ts            text,
    removed       boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, kind, key)
);
