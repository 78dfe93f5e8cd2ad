using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Protocol.Internal;

/// <summary>What one event's data turned out to be.</summary>
internal enum ChatChunkKind
{
    /// <summary>A chunk; its updates are in <see cref="ChatChunkDecoder.Updates"/>.</summary>
    Chunk,

    /// <summary>The <c>[DONE]</c> sentinel.</summary>
    Done,
}

/// <summary>
/// Decodes Chat Completions (and legacy completions) chunks straight from the event bytes with <see cref="Utf8JsonReader"/>.
/// One instance per stream: it caches the repeating strings (id, model, fingerprint) and the previous chunk's shape, so a
/// typical content chunk allocates only its text.
/// </summary>
internal sealed class ChatChunkDecoder : IDisposable
{
    private readonly Utf8StringCache _strings = new(32);
    private readonly ChatChunkTemplate _template = new();
    private readonly List<ChoiceState> _choices = new(1);
    private int _argumentsStart = -1; // the last chunk's one arguments string literal (quotes included), when it had one
    private int _argumentsEnd;
    private int _argumentsLiterals;
    private ChatChunkHeader _header = ChatChunkHeader.Empty;

    /// <summary>Gets the updates of the last decoded chunk (one per choice, or one with choice index −1).</summary>
    public List<ChatCompletionUpdate> Updates { get; } = new(1);

    /// <summary>Decodes one event's data. Throws <see cref="OpenAIStreamException"/> for an error payload and <see cref="OpenAIStreamProtocolException"/> for malformed JSON.</summary>
    public ChatChunkKind Decode(ReadOnlySpan<byte> data, long eventIndex, string? requestId)
    {
        Updates.Clear();
        if (IsDone(data))
        {
            return ChatChunkKind.Done;
        }

        if (_template.TryMatch(data, out ChatCompletionUpdate fast))
        {
            Updates.Add(fast);
            return ChatChunkKind.Chunk;
        }

        try
        {
            ParseFull(data, eventIndex, requestId);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            Updates.Clear();
            _template.Clear();
            throw new OpenAIStreamProtocolException(
                $"Event {eventIndex} of the stream is not a valid JSON chunk: {ex.Message}",
                eventIndex,
                isRetryable: true,
                requestId: requestId,
                innerException: ex);
        }

        return ChatChunkKind.Chunk;
    }

    /// <summary>
    /// The fast path for a chunk that is the start of <paramref name="text"/> and is followed by <paramref name="terminator"/>:
    /// decodes it when it has the previous chunk's shape (nothing cached is changed), else returns false and the chunk goes
    /// to <see cref="Decode"/>. <paramref name="length"/> is the chunk's length; the chunk holds no CR or LF. Its one update
    /// is <see cref="FramedUpdate"/> of <paramref name="content"/>: the previous chunk's, whose choice index and finish
    /// reason it shares, with the new text.
    /// </summary>
    public bool TryDecodeLine(ReadOnlySpan<byte> text, ReadOnlySpan<byte> terminator, [NotNullWhen(true)] out string? content, out int length) =>
        _template.TryMatchLine(text, terminator, out content, out length);

    /// <summary>
    /// <see cref="TryDecodeLine(ReadOnlySpan{byte}, ReadOnlySpan{byte}, out string?, out int)"/> with the content decoded
    /// into <paramref name="destination"/> (<paramref name="written"/> chars), for a reader that passes the chunk on as it is
    /// and needs only to account for its text: no string is made. False as well when the text does not fit.
    /// </summary>
    public bool TryDecodeLine(ReadOnlySpan<byte> text, ReadOnlySpan<byte> terminator, Span<char> destination, out int written, out int length) =>
        _template.TryMatchLine(text, terminator, destination, out written, out length);

    /// <summary>
    /// The update of the chunks <see cref="TryDecodeLine(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{char}, out int, out int)"/>
    /// decodes, without their text: their choice, role and finish reason are its.
    /// </summary>
    public ChatCompletionUpdate TemplateUpdate => _template.WithValue(string.Empty);

    /// <summary>
    /// Gets whether the chunks <c>TryDecodeLine</c> decodes are a tool call's arguments: their update then has a tool call
    /// update of its own (<see cref="FramedUpdate"/> makes one each time), and their text is the arguments, not content.
    /// </summary>
    public bool FramesArguments => _template.IsArguments;

    /// <summary>The update of a chunk decoded by <c>TryDecodeLine</c>, valid until the next decode.</summary>
    public ChatCompletionUpdate FramedUpdate(string content) => _template.WithValue(content);

    public void Dispose() => _template.Dispose();

    /// <summary>Whether the data is the <c>[DONE]</c> sentinel (surrounding ASCII white space tolerated).</summary>
    internal static bool IsDone(ReadOnlySpan<byte> data) =>
        data.Length <= 16 && data.Trim(" \t\r\n"u8).SequenceEqual("[DONE]"u8);

    private void ParseFull(ReadOnlySpan<byte> data, long eventIndex, string? requestId)
    {
        _argumentsStart = -1;
        _argumentsLiterals = 0;
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("The event data is not a JSON object.");
        }

        string? id = null, model = null, fingerprint = null, tier = null;
        long created = 0;
        OpenAIUsage? usage = null;
        bool isError = false;
        int skipStart = -1, skipEnd = -1;
        Span<byte> nameBuffer = stackalloc byte[64];
        _choices.Clear();

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            scoped ReadOnlySpan<byte> name = reader.ValueSpan;
            if (reader.ValueIsEscaped)
            {
                // Escaped property names are legal but never sent in practice: unescape them into a small buffer.
                name = reader.ValueSpan.Length <= nameBuffer.Length ? nameBuffer[..reader.CopyString(nameBuffer)] : default;
            }

            if (name.SequenceEqual("choices"u8))
            {
                reader.Read();
                ReadChoices(ref reader, data);
                continue;
            }

            reader.Read();
            switch (name.Length)
            {
                case 2 when name.SequenceEqual("id"u8):
                    id = JsonReading.GetCachedString(ref reader, _strings);
                    break;
                case 5 when name.SequenceEqual("model"u8):
                    model = JsonReading.GetCachedString(ref reader, _strings);
                    break;
                case 7 when name.SequenceEqual("created"u8):
                    created = JsonReading.GetInt64OrNull(ref reader) ?? 0;
                    break;
                case 18 when name.SequenceEqual("system_fingerprint"u8):
                    fingerprint = JsonReading.GetCachedString(ref reader, _strings);
                    break;
                case 12 when name.SequenceEqual("service_tier"u8):
                    tier = JsonReading.GetCachedString(ref reader, _strings);
                    break;
                case 5 when name.SequenceEqual("usage"u8):
                    usage = UsageReader.Read(ref reader, data);
                    break;
                case 5 when name.SequenceEqual("error"u8):
                    isError |= reader.TokenType is JsonTokenType.StartObject or JsonTokenType.String;
                    reader.Skip();
                    break;
                case 6 when name.SequenceEqual("object"u8):
                    isError |= reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("error"u8);
                    reader.Skip();
                    break;
                case 11 when name.SequenceEqual("obfuscation"u8):
                    if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence)
                    {
                        skipStart = (int)reader.TokenStartIndex;
                        skipEnd = (int)reader.BytesConsumed;
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new JsonException("The event data has content after its JSON object.");
        }

        if (isError)
        {
            OpenAIErrorInfo error = OpenAIErrorReader.TryRead(data, out OpenAIErrorInfo info) ? info : new OpenAIErrorInfo(null, "server_error", null, null);
            _template.Clear();
            throw error.ToException(statusCode: null, requestId, eventIndex, "The server reported an error in the middle of the stream.");
        }

        ChatChunkHeader header = _header.Matches(id, model, created, fingerprint, tier)
            ? _header
            : _header = new ChatChunkHeader(id, model, created, fingerprint, tier);

        if (_choices.Count == 0)
        {
            Updates.Add(new ChatCompletionUpdate(header, -1, null, null, null, null, null, usage));
            _template.Clear();
            return;
        }

        foreach (ChoiceState choice in _choices)
        {
            Updates.Add(new ChatCompletionUpdate(header, choice.Index, choice.Role, choice.Text, choice.Refusal, choice.ToolCalls, choice.FinishReason, usage));
        }

        ChoiceState only = _choices[0];
        if (_choices.Count == 1 && only.ContentStart >= 0)
        {
            _template.Set(data, only.ContentStart, only.ContentEnd, skipStart, skipEnd, Updates[0]);
        }
        else if (_choices.Count == 1 && _argumentsStart >= 0 && only.ToolCalls is { Count: 1 } calls && only.Text is null && only.Refusal is null
            && calls[0].ArgumentsDelta is { } delivered && IsLiteralOf(data[_argumentsStart.._argumentsEnd], delivered))
        {
            // A chunk of one tool call's arguments: the next ones differ only there (and in the obfuscation).
            _template.Set(data, _argumentsStart, _argumentsEnd, skipStart, skipEnd, Updates[0], isArguments: true);
        }
        else
        {
            _template.Clear();
        }
    }

    /// <summary>
    /// Whether <paramref name="literal"/> (a JSON string literal, quotes included) is the one the update's arguments
    /// <paramref name="delivered"/> came from: equal text, so a later key (a <c>function_call</c>, a repeated key) did not
    /// replace the tool call it was read into.
    /// </summary>
    private static bool IsLiteralOf(ReadOnlySpan<byte> literal, string delivered)
    {
        var reader = new Utf8JsonReader(literal);
        return reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(delivered);
    }

    private void ReadChoices(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            var choice = new ChoiceState { Index = _choices.Count, ContentStart = -1 };
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (JsonReading.NameIs(ref reader, "delta"u8))
                {
                    reader.Read();
                    ReadDelta(ref reader, ref choice, data);
                }
                else if (JsonReading.NameIs(ref reader, "index"u8))
                {
                    reader.Read();
                    choice.Index = JsonReading.GetIndex(ref reader, choice.Index, "choices[].index");
                }
                else if (JsonReading.NameIs(ref reader, "finish_reason"u8))
                {
                    reader.Read();
                    choice.FinishReason = JsonReading.GetCachedString(ref reader, _strings);
                }
                else if (JsonReading.NameIs(ref reader, "text"u8))
                {
                    // Legacy completions: choices[].text is the delta.
                    reader.Read();
                    choice.Text = JsonReading.GetText(ref reader, "choices[].text");
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            _choices.Add(choice);
        }
    }

    private void ReadDelta(ref Utf8JsonReader reader, ref ChoiceState choice, ReadOnlySpan<byte> data)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (JsonReading.NameIs(ref reader, "content"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence)
                {
                    choice.ContentStart = (int)reader.TokenStartIndex;
                    choice.ContentEnd = (int)reader.BytesConsumed;
                }

                choice.Text = JsonReading.GetText(ref reader, "delta.content");
            }
            else if (JsonReading.NameIs(ref reader, "role"u8))
            {
                reader.Read();
                choice.Role = JsonReading.GetCachedString(ref reader, _strings);
            }
            else if (JsonReading.NameIs(ref reader, "refusal"u8))
            {
                reader.Read();
                choice.Refusal = JsonReading.GetText(ref reader, "delta.refusal");
            }
            else if (JsonReading.NameIs(ref reader, "tool_calls"u8))
            {
                reader.Read();
                choice.ToolCalls = ReadToolCalls(ref reader, data);
            }
            else if (JsonReading.NameIs(ref reader, "function_call"u8))
            {
                reader.Read();
                ChatToolCallUpdate? call = ReadFunction(ref reader, index: 0, id: null, type: "function", data);
                choice.ToolCalls = call is null ? choice.ToolCalls : [call];
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private List<ChatToolCallUpdate>? ReadToolCalls(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        List<ChatToolCallUpdate>? calls = null;
        int position = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            int index = position++;
            string? id = null, type = null, name = null, arguments = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (JsonReading.NameIs(ref reader, "index"u8))
                {
                    reader.Read();
                    index = JsonReading.GetIndex(ref reader, index, "tool_calls[].index");
                }
                else if (JsonReading.NameIs(ref reader, "id"u8))
                {
                    reader.Read();
                    id = JsonReading.GetText(ref reader, "tool_calls[].id");
                }
                else if (JsonReading.NameIs(ref reader, "type"u8))
                {
                    reader.Read();
                    type = JsonReading.GetCachedString(ref reader, _strings);
                }
                else if (JsonReading.NameIs(ref reader, "function"u8))
                {
                    reader.Read();
                    if (ReadFunction(ref reader, index, id, type, data) is { } function)
                    {
                        name = function.FunctionName;
                        arguments = function.ArgumentsDelta;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            (calls ??= new List<ChatToolCallUpdate>(1)).Add(new ChatToolCallUpdate(index, id, type, name, arguments));
        }

        return calls; // never mutated after this chunk, so handed out as it is
    }

    private ChatToolCallUpdate? ReadFunction(ref Utf8JsonReader reader, int index, string? id, string? type, ReadOnlySpan<byte> data)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        string? name = null, arguments = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (JsonReading.NameIs(ref reader, "name"u8))
            {
                reader.Read();
                name = JsonReading.GetCachedString(ref reader, _strings);
            }
            else if (JsonReading.NameIs(ref reader, "arguments"u8))
            {
                reader.Read();
                bool isLiteral = reader.TokenType == JsonTokenType.String && !reader.HasValueSequence;
                if (_argumentsLiterals++ == 0 && isLiteral)
                {
                    _argumentsStart = (int)reader.TokenStartIndex;
                    _argumentsEnd = (int)reader.BytesConsumed;
                }
                else
                {
                    _argumentsStart = -1; // more than one arguments field, or not a string: no template
                }

                arguments = JsonReading.GetTextOrJson(ref reader, data, "function.arguments");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return new ChatToolCallUpdate(index, id, type, name, arguments);
    }

    private struct ChoiceState
    {
        public int Index;
        public string? Role;
        public string? Text;
        public string? Refusal;
        public IReadOnlyList<ChatToolCallUpdate>? ToolCalls;
        public string? FinishReason;
        public int ContentStart;
        public int ContentEnd;
    }
}
