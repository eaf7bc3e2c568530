namespace Centaur.Sdk;

/// <summary>A tool failure the caller should see as it is: an HTTP status, a stable code and a message without secrets.</summary>
public class ToolException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;
}

/// <summary>An argument the caller got wrong; becomes a 400 that names the field.</summary>
public sealed class ToolArgumentException(string field, string message)
    : ToolException(400, "invalid_arguments", message)
{
    public string Field { get; } = field;
}
