namespace OpenAIStreaming.Tests.Support;

/// <summary>Finds files of the checkout (and of the shared folder beside it) from the test output directory.</summary>
public static class TestPaths
{
    /// <summary>
    /// Walks up from <see cref="AppContext.BaseDirectory"/> and returns the first <c>dir/relativePath</c> that exists.
    /// </summary>
    public static string FindUpwards(string relativePath)
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relativePath);
            if (Directory.Exists(candidate) || File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"No '{relativePath}' in {AppContext.BaseDirectory} or any directory above it.");
    }
}
