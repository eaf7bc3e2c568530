-- The trace context of the request (or socket envelope) that delivered a Slack event: the adapter handles the
-- event later, from the inbox, and continues that trace so Slack event → API → turn → proxy is one trace.
ALTER TABLE slack_inbox ADD COLUMN traceparent text;
