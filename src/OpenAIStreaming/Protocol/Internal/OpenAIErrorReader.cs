using System.Text.Json;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>
/// Reads an OpenAI-style error from JSON in every shape servers send: <c>{"error":{…}}</c> (OpenAI, Azure, vLLM,
/// Ollama), <c>{"error":"text"}</c> (Ollama native), a flat <c>{"object":"error","message",…}</c> (older vLLM), the
/// Responses <c>error</c> event flat (<c>{"type":"error","code",…}</c>) or nested (<c>{"type":"error","error":{…}}</c>),
/// and <c>response.failed</c> (<c>{"response":{"error":{…}}}</c>). Integer codes become their decimal text.
/// </summary>
internal static class OpenAIErrorReader
{
    /// <summary>Reads the error in <paramref name="json"/>; false when it is not JSON or carries no error.</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out OpenAIErrorInfo error)
    {
        error = default;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            OpenAIErrorInfo root = default;
            OpenAIErrorInfo? nested = null;
            OpenAIErrorInfo? fromResponse = null;
            bool rootIsError = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (JsonReading.NameIs(ref reader, "error"u8))
                {
                    reader.Read();
                    nested = ReadErrorValue(ref reader);
                }
                else if (JsonReading.NameIs(ref reader, "response"u8))
                {
                    reader.Read();
                    fromResponse = ReadResponseError(ref reader);
                }
                else if (JsonReading.NameIs(ref reader, "object"u8) || JsonReading.NameIs(ref reader, "type"u8))
                {
                    reader.Read();
                    string? value = JsonReading.GetLenientString(ref reader);
                    if (value == "error")
                    {
                        rootIsError = true;
                    }
                    else if (value is not null && !value.StartsWith("response.", StringComparison.Ordinal))
                    {
                        root = root with { Type = value };
                    }
                }
                else
                {
                    root = ReadField(ref reader, root);
                }
            }

            if (nested is { } n)
            {
                error = n with
                {
                    Message = n.Message ?? root.Message,
                    Code = n.Code ?? root.Code,
                    Param = n.Param ?? root.Param,
                };
                return true;
            }

            if (fromResponse is { } r)
            {
                error = r;
                return true;
            }

            if (rootIsError || root.Message is not null)
            {
                error = root;
                return rootIsError || root.Code is not null || root.Type is not null;
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static OpenAIErrorInfo? ReadErrorValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new OpenAIErrorInfo(reader.GetString(), null, null, null);
            case JsonTokenType.StartObject:
                OpenAIErrorInfo info = default;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (JsonReading.NameIs(ref reader, "type"u8))
                    {
                        reader.Read();
                        info = info with { Type = JsonReading.GetLenientString(ref reader) };
                    }
                    else
                    {
                        info = ReadField(ref reader, info);
                    }
                }

                return info;
            default:
                reader.Skip();
                return null;
        }
    }

    private static OpenAIErrorInfo? ReadResponseError(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        OpenAIErrorInfo? error = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isError = JsonReading.NameIs(ref reader, "error"u8);
            reader.Read();
            if (isError)
            {
                error = ReadErrorValue(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return error;
    }

    private static OpenAIErrorInfo ReadField(ref Utf8JsonReader reader, OpenAIErrorInfo info)
    {
        if (JsonReading.NameIs(ref reader, "message"u8))
        {
            reader.Read();
            return info with { Message = JsonReading.GetLenientString(ref reader) };
        }

        if (JsonReading.NameIs(ref reader, "code"u8))
        {
            reader.Read();
            return info with { Code = JsonReading.GetLenientString(ref reader) };
        }

        if (JsonReading.NameIs(ref reader, "param"u8))
        {
            reader.Read();
            return info with { Param = JsonReading.GetLenientString(ref reader) };
        }

        reader.Read();
        reader.Skip();
        return info;
    }
}
