namespace Centaur.Tests.Infrastructure;

public static class RepositoryPaths
{
    /// <summary>The checkout's root (the folder holding Centaur.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A project's build output, in the same configuration as the tests (Debug or Release).</summary>
    public static string Output(string projectFolder, string fileName)
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(Root, projectFolder, "bin", configuration, "net10.0", fileName);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution first", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Centaur.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Centaur.sln not found above " + AppContext.BaseDirectory);
    }
}
