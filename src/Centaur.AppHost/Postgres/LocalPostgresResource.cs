namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A PostgreSQL server run from the machine's own binaries (Debian's /usr/lib/postgresql/&lt;v&gt;/bin) as an executable
/// resource, for machines that have no container runtime. Its connection string already names the database.
/// </summary>
public sealed class LocalPostgresResource(string name, string workingDirectory, ParameterResource password, string databaseName)
    : ExecutableResource(name, "/bin/sh", workingDirectory), IResourceWithConnectionString
{
    internal const string EndpointName = "tcp";

    public ParameterResource Password { get; } = password;

    public string DatabaseName { get; } = databaseName;

    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username=postgres;Password={Password};Database={DatabaseName}");
}
