using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// Asks a chat stream for its usage: adds <c>"stream_options":{"include_usage":true}</c> to a request body that sets no
/// <c>stream_options</c>, leaving every other byte as it was. A body that sets its own <c>stream_options</c> (with or
/// without <c>include_usage</c>) is the caller's choice and is not touched.
/// </summary>
internal static class IncludeUsage
{
    private static ReadOnlySpan<byte> Property => "\"stream_options\":{\"include_usage\":true}"u8;

    /// <summary>The body with <c>stream_options.include_usage</c> added; null when it is not a JSON object or sets <c>stream_options</c> already.</summary>
    public static byte[]? Add(ReadOnlySpan<byte> json)
    {
        var found = new List<(int Start, int End)>(0);
        return JsonTopLevel.TryFind(json, "stream_options"u8, found, out int objectStart) && found.Count == 0
            ? JsonTopLevel.InsertFirst(json, objectStart, Property)
            : null;
    }
}
