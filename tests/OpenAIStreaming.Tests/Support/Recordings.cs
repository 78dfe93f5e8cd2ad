namespace OpenAIStreaming.Tests.Support;

/// <summary>Finds the shared recordings: <c>shared/recordings</c> beside the repository root, searched upward from the test binaries.</summary>
public static class Recordings
{
    private static readonly Lazy<string> Root = new(Find);

    public static string Directory => Root.Value;

    public static string[] Names =>
    [
        "chat-finish-length.sse", "chat-json-text-181-events.sse", "chat-logprobs.sse", "chat-n3-structured-output.sse",
        "chat-parallel-tool-calls.sse", "chat-refusal-logprobs.sse", "chat-refusal.sse", "chat-structured-output.sse",
        "chat-text.sse", "chat-tool-call-2.sse", "chat-tool-call-strict.sse", "chat-tool-call.sse",
    ];

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    private static string Find()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "recordings");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("shared/recordings was not found above " + AppContext.BaseDirectory);
    }
}
