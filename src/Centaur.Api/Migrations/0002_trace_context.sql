-- The W3C trace context of the request that queued an execution, so the worker's turn (run later, maybe by another
-- replica) continues the same distributed trace: Slack event → API → execution → sandbox → proxy → upstream.
ALTER TABLE agent_execution_requests ADD COLUMN traceparent text;
