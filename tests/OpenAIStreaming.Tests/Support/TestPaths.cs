namespace OpenAIStreaming.Tests.Support;

/// <summary>Finds files of the checkout from the test output directory, never outside the repository.</summary>
public static class TestPaths
{
    private const string RootMarker = "OpenAIStreaming.sln";

    private static readonly Lazy<string> LazyRepositoryRoot = new(FindRepositoryRoot);

    /// <summary>Gets the repository root: the nearest directory above the test binaries that holds <c>OpenAIStreaming.sln</c>.</summary>
    public static string RepositoryRoot => LazyRepositoryRoot.Value;

    /// <summary>
    /// Returns <c>RepositoryRoot/relativePath</c>, failing at once when it does not exist: the lookup never leaves the
    /// repository, so a test can only depend on files that are checked in.
    /// </summary>
    public static string InRepository(string relativePath)
    {
        string candidate = Path.Combine(RepositoryRoot, relativePath);
        if (Directory.Exists(candidate) || File.Exists(candidate))
        {
            return candidate;
        }

        throw new FileNotFoundException($"'{relativePath}' is not in the repository at {RepositoryRoot}.", candidate);
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, RootMarker)))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No {RootMarker} in {AppContext.BaseDirectory} or any directory above it.");
    }
}
