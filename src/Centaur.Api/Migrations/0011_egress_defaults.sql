-- What a fresh install needs for the harnesses to answer at all: the two LLM vendors allowed, and their keys bound
-- to them. The harnesses hold 'centaur-placeholder:anthropic-api-key' / ':openai-api-key'; the proxy swaps in its
-- secrets of the same names. Operators change or delete these rows through PUT/DELETE /egress/… like any other.
-- Anthropic's SDKs send the key as x-api-key, some versions as Authorization: Bearer, so both headers are bound.
INSERT INTO egress_hosts (host, ports, note) VALUES
    ('api.anthropic.com', '{443}', 'default: Claude Code and pi (Anthropic models)'),
    ('api.openai.com', '{443}', 'default: Codex and pi (OpenAI models)')
ON CONFLICT (host) DO NOTHING;

INSERT INTO egress_bindings (name, host, headers, format, secret) VALUES
    ('anthropic-api-key', 'api.anthropic.com', '{x-api-key,authorization}', 'bearer', 'anthropic-api-key'),
    ('openai-api-key', 'api.openai.com', '{authorization}', 'bearer', 'openai-api-key')
ON CONFLICT (name, host) DO NOTHING;
