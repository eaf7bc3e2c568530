-- The trace context of the turn now running for an execution (the worker's span, child of `traceparent`): the
-- egress proxy parents a sandbox's outgoing calls to it, so they appear inside the turn in one distributed trace.
ALTER TABLE agent_execution_requests ADD COLUMN turn_traceparent text;
