namespace Centaur.Slack;

/// <summary>Names this assembly for in-process hosts (WebApplicationFactory) without touching the Program type.</summary>
public sealed class SlackAdapter;
