using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Kubernetes;

namespace Centaur.Tests.Kubernetes;

/// <summary>Sensitivity follows where a value comes from (a secret parameter), never what its key is called.</summary>
public sealed class ContainerEnvironmentTests
{
    private static readonly ParameterResource Password = new("db-password", _ => "never-read", secret: true);

    [Fact]
    public void ASecretParameterBecomesASecretKeyRef()
    {
        var environment = ContainerEnvironment.From([new("Db__Password", Password)]);

        var variable = Assert.Single(environment.Env);
        Assert.Equal(("centaur-secrets", "db-password"), (variable.ValueFrom.SecretKeyRef.Name, variable.ValueFrom.SecretKeyRef.Key));
        Assert.Empty(environment.ConfigMapData);
    }

    [Fact]
    public void AValueBuiltFromASecretIsAssembledInTheContainerNotStoredInTheConfigMap()
    {
        var connection = ReferenceExpression.Create($"Host=db;Password={Password};Options=$(literal)");

        var environment = ContainerEnvironment.From([new("ConnectionStrings__db", connection)]);

        Assert.Empty(environment.ConfigMapData);
        Assert.Equal(["CENTAUR_SECRET_DB_PASSWORD", "ConnectionStrings__db"], environment.Env.Select(e => e.Name));
        Assert.Equal("db-password", environment.Env[0].ValueFrom.SecretKeyRef.Key);
        // A literal "$(" is escaped so that Kubernetes does not expand it.
        Assert.Equal("Host=db;Password=$(CENTAUR_SECRET_DB_PASSWORD);Options=$$(literal)", environment.Env[1].Value);
    }

    [Fact]
    public void APlainValueGoesToTheConfigMapWhateverItsKeyIsCalled()
    {
        var environment = ContainerEnvironment.From([new("SLACK_TOKEN_HEADER", "x-api-key"), new("Secret__Name", ReferenceExpression.Create($"plain-{"text"}"))]);

        Assert.Empty(environment.Env);
        Assert.Equal("x-api-key", environment.ConfigMapData["SLACK_TOKEN_HEADER"]);
        Assert.Equal("plain-text", environment.ConfigMapData["Secret__Name"]);
    }
}
