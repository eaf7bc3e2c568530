-- Per-thread egress allowances: one thread's sandbox may reach one more host (ports 443 and 80), e.g. after an admin
-- pressed "Allow <host> for this thread" in Slack. Every other thread still gets host_not_allowed. Exact host names
-- only (no wildcards), no credentials, and the proxy's address guard still applies (no private addresses).
-- A change bumps the policy version like any policy table, so proxies reload and report the version they hold.
CREATE TABLE egress_thread_allowances (
    thread_key  text        NOT NULL CHECK (length(thread_key) BETWEEN 3 AND 256),
    host        text        NOT NULL CHECK (host = lower(host) AND host ~ '^[a-z0-9._:\[\]-]+$'),
    granted_by  text        NOT NULL CHECK (length(granted_by) BETWEEN 1 AND 256),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (thread_key, host)
);
CREATE TRIGGER egress_thread_allowances_changed AFTER INSERT OR UPDATE OR DELETE ON egress_thread_allowances
    FOR EACH STATEMENT EXECUTE FUNCTION egress_policy_changed();

-- Who granted or revoked a per-thread allowance, through which API client; kept after a revoke.
CREATE TABLE egress_allowance_audit (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    action      text        NOT NULL CHECK (action IN ('grant', 'revoke')),
    thread_key  text        NOT NULL,
    host        text        NOT NULL,
    actor       text        NOT NULL,   -- the person the change was made for (granted_by), e.g. slack:U123
    client      text        NOT NULL    -- the API client that made it, e.g. slack or admin
);
CREATE INDEX egress_allowance_audit_thread ON egress_allowance_audit (thread_key, id);
