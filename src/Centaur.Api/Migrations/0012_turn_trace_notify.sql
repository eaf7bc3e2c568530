-- IronProxy parents a sandbox's egress spans to the thread's running turn (turn_traceparent). It keeps each thread's
-- answer in memory instead of asking Postgres per request, and this notification (payload: the thread key) tells it
-- when that answer may have changed: a turn's trace context is set, or an execution changes state.
CREATE FUNCTION notify_turn_trace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('centaur_turn_trace', NEW.thread_key);
    RETURN NULL;
END $$;

CREATE TRIGGER agent_execution_requests_turn_trace_notify
    AFTER UPDATE OF state, turn_traceparent ON agent_execution_requests
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.turn_traceparent IS DISTINCT FROM NEW.turn_traceparent)
    EXECUTE FUNCTION notify_turn_trace();
