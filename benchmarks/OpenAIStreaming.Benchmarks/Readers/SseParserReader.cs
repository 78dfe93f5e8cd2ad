using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace OpenAIStreaming.Benchmarks.Readers;

/// <summary>
/// The runtime's <see cref="SseParser"/> with an item parser that walks the event's UTF-8 bytes with
/// <see cref="Utf8JsonReader"/> to <c>choices[0].delta.content</c> (or the first tool call's <c>function.arguments</c>) and stops there.
/// </summary>
public sealed class SseParserReader : IChatTextReader
{
    private static readonly SseItemParser<string?> ItemParser = static (_, data) => ParseContent(data);

    private readonly ChatStreamData _data;

    public SseParserReader(ChatStreamData data) => _data = data;

    public string Name => "SseParser";

    public async Task<int> ReadAsync(StringBuilder? sink)
    {
        int total = 0;
        using var stream = _data.Open();
        await foreach (var item in SseParser.Create(stream, ItemParser).EnumerateAsync())
        {
            if (item.Data is { } text)
            {
                total += text.Length;
                sink?.Append(text);
            }
        }

        return total;
    }

    /// <summary>Returns <c>choices[0].delta.content</c> or <c>choices[0].delta.tool_calls[0].function.arguments</c>, or null for <c>[DONE]</c> and a chunk with neither.</summary>
    internal static string? ParseContent(ReadOnlySpan<byte> data)
    {
        if (data.SequenceEqual("[DONE]"u8))
        {
            return null;
        }

        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A chunk must be a JSON object.");
        }

        // Chunk object: skip every property but "choices".
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("choices"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            // choices[0]
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray
                || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return null;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isContent = reader.ValueTextEquals("content"u8);
                    bool isToolCalls = !isContent && reader.ValueTextEquals("tool_calls"u8);
                    reader.Read();
                    if (isContent && reader.TokenType == JsonTokenType.String)
                    {
                        return reader.GetString();
                    }

                    if (isToolCalls && reader.TokenType == JsonTokenType.StartArray)
                    {
                        return FirstToolCallArguments(ref reader);
                    }

                    reader.Skip();
                }

                return null;
            }

            return null;
        }

        return null;
    }

    /// <summary>From the start of <c>tool_calls</c>: the first tool call's <c>function.arguments</c>, or null.</summary>
    private static string? FirstToolCallArguments(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isFunction = reader.ValueTextEquals("function"u8);
            reader.Read();
            if (!isFunction || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isArguments = reader.ValueTextEquals("arguments"u8);
                reader.Read();
                if (isArguments && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }

                reader.Skip();
            }

            return null;
        }

        return null;
    }
}
