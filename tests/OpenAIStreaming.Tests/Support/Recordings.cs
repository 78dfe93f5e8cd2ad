using System.Text.Json;

namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// The twelve real OpenAI Chat Completions bodies in <c>tests/OpenAIStreaming.Tests/Recordings</c>, copied next to the
/// test binaries by the build (see the README there for where they come from).
/// </summary>
public static class Recordings
{
    private static readonly JsonSerializerOptions SnakeCase =
        new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static readonly Lazy<string> LazyDirectory = new(FindDirectory);

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

    private static string FindDirectory()
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "Recordings");
        return System.IO.Directory.Exists(directory)
            ? directory
            : throw new DirectoryNotFoundException($"The recordings were not copied next to the test binaries ({directory}).");
    }

    private static Dictionary<string, RecordingExpectation> LoadExpected()
    {
        string json = File.ReadAllText(Path.Combine(Directory, "expected.json"));
        return JsonSerializer.Deserialize<Dictionary<string, RecordingExpectation>>(json, SnakeCase)
            ?? throw new InvalidDataException("expected.json is empty.");
    }
}
