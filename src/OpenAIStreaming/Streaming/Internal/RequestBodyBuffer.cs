using System.Text.Json;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// Buffers a request body once (bounded) so every attempt can send it, and reads from it whether the request asks for a
/// stream (<c>"stream": true</c> at the top level of a JSON object; the <c>Accept</c> header is never consulted).
/// </summary>
internal static class RequestBodyBuffer
{
    /// <summary>
    /// The outcome of <see cref="PrepareAsync"/>: whether the body can be sent again, whether it asks for a stream, the
    /// buffered bytes (empty when there is no body or it was too large to buffer), its top-level <c>model</c>, and whether it
    /// asks for a background response (<c>"background": true</c>, which the server keeps and can stream again).
    /// </summary>
    public readonly record struct Result(bool IsReplayable, bool IsStream, ReadOnlyMemory<byte> Body = default, string? Model = null, bool IsBackground = false);

    public static async ValueTask<Result> PrepareAsync(HttpRequestMessage request, int maxBytes, CancellationToken cancellationToken)
    {
        HttpContent? content = request.Content;
        if (content is null)
        {
            return new Result(IsReplayable: true, IsStream: false);
        }

        if (content.Headers.ContentLength > maxBytes)
        {
            return new Result(IsReplayable: false, IsStream: false);
        }

        byte[] buffer = new byte[(int)Math.Min(content.Headers.ContentLength ?? 4096, maxBytes) + 1];
        int length = 0;
        Stream source = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        throw new InvalidOperationException(
                            $"The request body is larger than MaxRequestBodyBytes ({maxBytes} bytes), so it cannot be buffered for retries. Raise the limit or send a Content-Length.");
                    }

                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes + 1L));
                }

                int read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }

        if (length > maxBytes)
        {
            throw new InvalidOperationException(
                $"The request body is larger than MaxRequestBodyBytes ({maxBytes} bytes), so it cannot be buffered for retries.");
        }

        Replace(request, buffer.AsMemory(0, length));
        (bool isStream, string? model, bool isBackground) = Inspect(buffer.AsSpan(0, length));
        return new Result(IsReplayable: true, isStream, buffer.AsMemory(0, length), model, isBackground);
    }

    /// <summary>Makes <paramref name="body"/> the request's content, with the content headers it had (but its own length).</summary>
    public static void Replace(HttpRequestMessage request, ReadOnlyMemory<byte> body)
    {
        HttpContent content = request.Content!;
        var replacement = new ReadOnlyMemoryContent(body);
        foreach (KeyValuePair<string, IEnumerable<string>> header in content.Headers)
        {
            if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        request.Content = replacement;
        content.Dispose();
    }

    /// <summary>Whether the body is a JSON object whose top-level <c>stream</c> property is <c>true</c>.</summary>
    public static bool AsksForStream(ReadOnlySpan<byte> json) => Inspect(json).IsStream;

    /// <summary>
    /// Reads the top level of a JSON object body in one pass: whether its <c>stream</c> property is <c>true</c>, its
    /// <c>model</c>, and whether its <c>background</c> property is <c>true</c> (the last occurrence of each wins, as in most
    /// JSON parsers); false and null when it is not a JSON object.
    /// </summary>
    public static (bool IsStream, string? Model, bool IsBackground) Inspect(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (false, null, false);
            }

            bool isStream = false, isBackground = false;
            string? model = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isStreamProperty = reader.ValueTextEquals("stream"u8);
                bool isModelProperty = !isStreamProperty && reader.ValueTextEquals("model"u8);
                bool isBackgroundProperty = !isStreamProperty && !isModelProperty && reader.ValueTextEquals("background"u8);
                reader.Read();
                if (isStreamProperty)
                {
                    isStream = reader.TokenType == JsonTokenType.True;
                }
                else if (isBackgroundProperty)
                {
                    isBackground = reader.TokenType == JsonTokenType.True;
                }
                else if (isModelProperty)
                {
                    model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }

            return (isStream, model, isBackground);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return (false, null, false);
        }
    }
}
