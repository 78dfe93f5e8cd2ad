using System.Text.Json;

namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// The twelve real OpenAI Chat Completions bodies in <c>shared/recordings</c> (a sibling of the checkout: the repository is
/// <c>&lt;root&gt;/main</c> or a worktree beside it, and the recordings are in <c>&lt;root&gt;/shared/recordings</c>).
/// </summary>
public static class Recordings
{
    private static readonly JsonSerializerOptions SnakeCase =
        new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static readonly Lazy<string> LazyDirectory = new(() => TestPaths.FindUpwards(Path.Combine("shared", "recordings")));

    private static readonly Lazy<IReadOnlyDictionary<string, RecordingExpectation>> LazyExpected = new(LoadExpected);

    public static string Directory => LazyDirectory.Value;

    public static IReadOnlyDictionary<string, RecordingExpectation> Expected => LazyExpected.Value;

    /// <summary>The recording file names, sorted; one theory case each.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "chat-finish-length.sse",
        "chat-json-text-181-events.sse",
        "chat-logprobs.sse",
        "chat-n3-structured-output.sse",
        "chat-parallel-tool-calls.sse",
        "chat-refusal-logprobs.sse",
        "chat-refusal.sse",
        "chat-structured-output.sse",
        "chat-text.sse",
        "chat-tool-call-2.sse",
        "chat-tool-call-strict.sse",
        "chat-tool-call.sse",
    ];

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(Directory, name));

    private static Dictionary<string, RecordingExpectation> LoadExpected()
    {
        string json = File.ReadAllText(Path.Combine(Directory, "expected.json"));
        return JsonSerializer.Deserialize<Dictionary<string, RecordingExpectation>>(json, SnakeCase)
            ?? throw new InvalidDataException("expected.json is empty.");
    }
}
