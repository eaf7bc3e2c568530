namespace Centaur.IronProxy.Identity;

/// <summary>Who sent a request: the thread and sandbox named by a valid sandbox token.</summary>
internal sealed record SandboxIdentity(string ThreadKey, string SandboxId);
