namespace Centaur.Api.Auth;

internal static class Scopes
{
    /// <summary>Drive agent turns: spawn, message, execute, cancel, read threads and events, claim deliveries.</summary>
    public const string Agent = "agent";

    /// <summary>Manage keys, policy and audit.</summary>
    public const string Admin = "admin";

    /// <summary>
    /// Grant (and revoke) per-thread egress allowances on behalf of a person the client has checked itself, e.g. the
    /// Slack adapter after it verified that whoever pressed "Allow" is a workspace admin. Nothing else of the policy.
    /// </summary>
    public const string EgressGrant = "egress_grant";

    /// <summary>Sandboxes calling the tool gateway with their sbx1 token.</summary>
    public const string Sandbox = "sandbox";

    public static readonly string[] All = [Agent, Admin, EgressGrant];
}
