-- Egress policy for Centaur.IronProxy, and its audit. The proxy reads the policy at start and again on every
-- change: any write to a policy table bumps egress_settings.version in the same transaction and NOTIFYs
-- 'centaur_egress_policy', so a proxy that reports version N has loaded exactly what was committed at N.

CREATE TABLE egress_settings (
    id             int         PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    -- enforce: denials are answered; report: would-be denials are audited as 'report' and let through, so a team
    -- can learn its allowlist before enforcing it. Identity (407) and the address guard are enforced in both.
    mode           text        NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'report')),
    -- Refuse a CONNECT inside the tunnel (TLS, then an HTTP 403 with the reason), because most clients print only
    -- "CONNECT tunnel failed" for a refused CONNECT. Costs one leaf certificate per refused host.
    deny_in_tunnel boolean     NOT NULL DEFAULT true,
    version        bigint      NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO egress_settings DEFAULT VALUES;

-- The host allowlist (default deny). host: exact ('api.anthropic.com'), '*.suffix' (subdomains only) or '*'.
CREATE TABLE egress_hosts (
    host            text        PRIMARY KEY CHECK (host = lower(host) AND host ~ '^(\*|(\*\.)?[a-z0-9._:\[\]-]+)$'),
    ports           int[]       NOT NULL DEFAULT '{443,80}',
    -- Request headers let through (names, 'prefix-*' or '*'); NULL lets every header through. Protocol headers
    -- (content-*, expect, te, accept*, sec-websocket-*) and the host's bound credential headers always pass.
    request_headers text[],
    -- Dial loopback, private, link-local or metadata addresses for this host (off: refused after DNS).
    allow_private   boolean     NOT NULL DEFAULT false,
    -- 'ip:port' dialled instead of resolving the host (internal services, test fakes); TLS still names the host.
    connect_to      text CHECK (connect_to IS NULL OR connect_to ~ '^(\[[0-9a-fA-F:.]+\]|[0-9.]+):[0-9]{1,5}$'),
    -- A PEM CA certificate trusted for this host in addition to the system store (private PKI).
    trusted_ca_pem  text,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Credential bindings: the placeholder 'centaur-placeholder:<name>' in one of `headers` is replaced by the value
-- of the proxy's secret `secret` (a name, never the value), only on requests dialled to `host`.
CREATE TABLE egress_bindings (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text        NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    host              text        NOT NULL CHECK (host = lower(host) AND host ~ '^(\*\.)?[a-z0-9._:\[\]-]+$'),
    headers           text[]      NOT NULL CHECK (cardinality(headers) > 0),
    -- raw: the header is the placeholder; bearer: 'Bearer <placeholder>' (or raw); basic: Basic auth whose
    -- password (or user) is the placeholder, as git sends tokens.
    format            text        NOT NULL CHECK (format IN ('raw', 'bearer', 'basic')),
    secret            text        NOT NULL CHECK (secret ~ '^[A-Za-z0-9._-]{1,128}$'),
    -- The placeholder sent to another host passes unchanged instead of being refused.
    allow_passthrough boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, host)
);

-- Reverse-proxy routes: http://ironproxy/<prefix>/rest → <destination>/rest (e.g. anthropic → https://api.anthropic.com).
CREATE TABLE egress_routes (
    prefix      text        PRIMARY KEY CHECK (prefix ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    destination text        NOT NULL CHECK (destination ~ '^https?://[^/?#]+(/[^?#]*)?$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION egress_settings_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER egress_settings_bump BEFORE UPDATE ON egress_settings
    FOR EACH ROW EXECUTE FUNCTION egress_settings_bump();

CREATE FUNCTION egress_settings_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('centaur_egress_policy', NEW.version::text);
    RETURN NULL;
END $$;
CREATE TRIGGER egress_settings_notify AFTER UPDATE ON egress_settings
    FOR EACH ROW EXECUTE FUNCTION egress_settings_notify();

CREATE FUNCTION egress_policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE egress_settings SET updated_at = now() WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER egress_hosts_changed AFTER INSERT OR UPDATE OR DELETE ON egress_hosts
    FOR EACH STATEMENT EXECUTE FUNCTION egress_policy_changed();
CREATE TRIGGER egress_bindings_changed AFTER INSERT OR UPDATE OR DELETE ON egress_bindings
    FOR EACH STATEMENT EXECUTE FUNCTION egress_policy_changed();
CREATE TRIGGER egress_routes_changed AFTER INSERT OR UPDATE OR DELETE ON egress_routes
    FOR EACH STATEMENT EXECUTE FUNCTION egress_policy_changed();

-- One row per request through the proxy (and per refused CONNECT), written in batches off the hot path.
-- Never a header value or a query string: names, decisions and sizes only.
CREATE TABLE egress_audit (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    thread_key  text,
    sandbox_id  text,
    mode        text        NOT NULL,   -- tunnel | http | reverse | connect
    method      text        NOT NULL,
    scheme      text        NOT NULL,
    host        text        NOT NULL,
    port        int         NOT NULL,
    path        text        NOT NULL,   -- without the query
    status      int         NOT NULL,
    bytes_in    bigint      NOT NULL,   -- request body bytes from the sandbox
    bytes_out   bigint      NOT NULL,   -- response body bytes to the sandbox
    duration_ms double precision NOT NULL,
    bindings    text[]      NOT NULL,   -- credential bindings injected (names)
    decision    text        NOT NULL CHECK (decision IN ('allow', 'deny', 'report')),
    reason      text
);
CREATE INDEX egress_audit_thread ON egress_audit (thread_key, id);
