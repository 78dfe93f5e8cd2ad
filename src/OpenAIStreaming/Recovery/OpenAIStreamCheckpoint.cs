using System.Buffers;
using System.Text;
using System.Text.Json;
using OpenAIStreaming.Recovery.Internal;

namespace OpenAIStreaming;

/// <summary>
/// What a stream had delivered at one point: per choice, how much text (content, refusal and each tool call's arguments,
/// in UTF-16 characters and UTF-8 bytes) and a stable 64-bit hash of it. Recovery uses it to check that a replayed answer
/// is the same as the one delivered; an application can store it (<see cref="ToJson"/>, <see cref="FromJson"/>) to audit a
/// stream or compare two.
/// </summary>
public sealed class OpenAIStreamCheckpoint
{
    /// <summary>Creates a checkpoint.</summary>
    /// <param name="updates">How many updates that carried content had been delivered.</param>
    /// <param name="choices">The delivered text of each choice, by index.</param>
    /// <param name="responseId">The response's id (<c>id</c>), when known.</param>
    /// <param name="route">The route that was streaming (endpoint and model), when known.</param>
    /// <param name="attempts">The attempts that streamed the answer, when it was recovered; empty otherwise.</param>
    /// <param name="sequenceNumber">The <c>sequence_number</c> of the last event delivered (Responses API), when known.</param>
    public OpenAIStreamCheckpoint(long updates, IReadOnlyList<OpenAIStreamCheckpointChoice> choices, string? responseId = null, string? route = null, IReadOnlyList<OpenAIStreamAttempt>? attempts = null, long? sequenceNumber = null)
    {
        SequenceNumber = sequenceNumber;
        ArgumentNullException.ThrowIfNull(choices);
        Updates = updates;
        Choices = choices;
        ResponseId = responseId;
        Route = route;
        Attempts = attempts ?? [];
        ulong hash = StableHash.Empty;
        for (int i = 0; i < choices.Count; i++) // indexed: an interface foreach would allocate an enumerator per checkpoint
        {
            OpenAIStreamCheckpointChoice choice = choices[i];
            hash = StableHash.Append(hash, (ulong)choice.Index);
            hash = Append(hash, choice.Content);
            hash = Append(hash, choice.Refusal);
            for (int j = 0; j < choice.ToolCalls.Count; j++)
            {
                OpenAIStreamCheckpointToolCall call = choice.ToolCalls[j];
                hash = StableHash.Append(hash, (ulong)call.Index);
                hash = Append(hash, call.Arguments);
            }

            hash = StableHash.Append(hash, choice.FinishReason ?? string.Empty);
        }

        Hash = hash;
    }

    /// <summary>Gets how many updates that carried content had been delivered.</summary>
    public long Updates { get; }

    /// <summary>Gets the delivered text of each choice, in index order.</summary>
    public IReadOnlyList<OpenAIStreamCheckpointChoice> Choices { get; }

    /// <summary>Gets the response's id (<c>id</c>), when known.</summary>
    public string? ResponseId { get; }

    /// <summary>
    /// Gets the <c>sequence_number</c> of the last event delivered, for a Responses stream: with <see cref="ResponseId"/>, where
    /// a background response can be streamed on from (<c>ResumeResponseAsync</c>), also after a restart of the application.
    /// </summary>
    public long? SequenceNumber { get; }

    /// <summary>Gets the route that was streaming (an endpoint and a model), when known.</summary>
    public string? Route { get; }

    /// <summary>
    /// Gets the attempts that streamed this answer when the stream was recovered, in order (the broken ones, then the one
    /// streaming now), so the tokens spent on replays are visible; empty when the first attempt streamed all of it. Not part
    /// of <see cref="Hash"/>.
    /// </summary>
    public IReadOnlyList<OpenAIStreamAttempt> Attempts { get; }

    /// <summary>Gets one stable hash of everything delivered (every choice's texts with their lengths, and its finish reason, in index order).</summary>
    public ulong Hash { get; }

    private static ulong Append(ulong hash, OpenAIStreamCheckpointText text) =>
        StableHash.Append(StableHash.Append(StableHash.Append(hash, (ulong)text.Chars), (ulong)text.Utf8Bytes), text.Hash);

    /// <summary>Writes the checkpoint as JSON.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("updates", Updates);
            writer.WriteString("hash", Hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
            if (ResponseId is not null)
            {
                writer.WriteString("response_id", ResponseId);
            }

            if (Route is not null)
            {
                writer.WriteString("route", Route);
            }

            if (SequenceNumber is { } sequence)
            {
                writer.WriteNumber("sequence_number", sequence);
            }

            writer.WriteStartArray("choices");
            foreach (OpenAIStreamCheckpointChoice choice in Choices)
            {
                writer.WriteStartObject();
                writer.WriteNumber("index", choice.Index);
                WriteText(writer, "content", choice.Content);
                WriteText(writer, "refusal", choice.Refusal);
                if (choice.FinishReason is not null)
                {
                    writer.WriteString("finish_reason", choice.FinishReason);
                }

                writer.WriteStartArray("tool_calls");
                foreach (OpenAIStreamCheckpointToolCall call in choice.ToolCalls)
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("index", call.Index);
                    WriteText(writer, "arguments", call.Arguments);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (Attempts.Count > 0)
            {
                writer.WriteStartArray("attempts");
                foreach (OpenAIStreamAttempt attempt in Attempts)
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("number", attempt.Number);
                    writer.WriteString("request_id", attempt.RequestId);
                    writer.WriteString("route", attempt.Route);
                    writer.WriteNumber("content_updates", attempt.ContentUpdates);
                    if (attempt.Usage is { } usage)
                    {
                        writer.WritePropertyName("usage");
                        writer.WriteRawValue(usage.Json);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads a checkpoint written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="FormatException">The text is not a checkpoint, or its hash does not match its contents.</exception>
    public static OpenAIStreamCheckpoint FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            var choices = new List<OpenAIStreamCheckpointChoice>();
            foreach (JsonElement choice in root.GetProperty("choices").EnumerateArray())
            {
                var calls = new List<OpenAIStreamCheckpointToolCall>();
                foreach (JsonElement call in choice.GetProperty("tool_calls").EnumerateArray())
                {
                    calls.Add(new OpenAIStreamCheckpointToolCall(call.GetProperty("index").GetInt32(), ReadText(call.GetProperty("arguments"))));
                }

                choices.Add(new OpenAIStreamCheckpointChoice(
                    choice.GetProperty("index").GetInt32(),
                    ReadText(choice.GetProperty("content")),
                    ReadText(choice.GetProperty("refusal")),
                    calls,
                    choice.TryGetProperty("finish_reason", out JsonElement finish) ? finish.GetString() : null));
            }

            var attempts = new List<OpenAIStreamAttempt>();
            if (root.TryGetProperty("attempts", out JsonElement attemptList))
            {
                foreach (JsonElement attempt in attemptList.EnumerateArray())
                {
                    attempts.Add(new OpenAIStreamAttempt(
                        attempt.GetProperty("number").GetInt32(),
                        attempt.GetProperty("request_id").GetString(),
                        attempt.GetProperty("route").GetString(),
                        attempt.GetProperty("content_updates").GetInt64(),
                        attempt.TryGetProperty("usage", out JsonElement usage) ? Protocol.Internal.UsageReader.Parse(usage.GetRawText()) : null));
                }
            }

            var checkpoint = new OpenAIStreamCheckpoint(
                root.GetProperty("updates").GetInt64(),
                choices,
                root.TryGetProperty("response_id", out JsonElement id) ? id.GetString() : null,
                root.TryGetProperty("route", out JsonElement route) ? route.GetString() : null,
                attempts,
                root.TryGetProperty("sequence_number", out JsonElement sequence) ? sequence.GetInt64() : null);
            string hash = root.GetProperty("hash").GetString() ?? string.Empty;
            if (!string.Equals(hash, checkpoint.Hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            {
                throw new FormatException("The checkpoint's hash does not match its contents.");
            }

            return checkpoint;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException("The text is not a stream checkpoint written by OpenAIStreamCheckpoint.ToJson.", ex);
        }
    }

    private static void WriteText(Utf8JsonWriter writer, string name, OpenAIStreamCheckpointText text)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("chars", text.Chars);
        writer.WriteNumber("utf8_bytes", text.Utf8Bytes);
        writer.WriteString("hash", text.Hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteEndObject();
    }

    private static OpenAIStreamCheckpointText ReadText(JsonElement element) =>
        new(
            element.GetProperty("chars").GetInt64(),
            element.GetProperty("utf8_bytes").GetInt64(),
            ulong.Parse(element.GetProperty("hash").GetString() ?? string.Empty, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>The delivered text of one choice.</summary>
/// <param name="Index">The choice index.</param>
/// <param name="Content">Its content text.</param>
/// <param name="Refusal">Its refusal text.</param>
/// <param name="ToolCalls">Its tool calls' arguments, in index order.</param>
/// <param name="FinishReason">Its finish reason, when it had finished.</param>
public sealed record OpenAIStreamCheckpointChoice(
    int Index,
    OpenAIStreamCheckpointText Content,
    OpenAIStreamCheckpointText Refusal,
    IReadOnlyList<OpenAIStreamCheckpointToolCall> ToolCalls,
    string? FinishReason);

/// <summary>One attempt that streamed part of an answer: the first, or a recovery's replay or resume.</summary>
/// <param name="Number">Its place among the attempts that streamed the answer (1 for the first).</param>
/// <param name="RequestId">The server's request id of its response, when known.</param>
/// <param name="Route">The route it streamed from (endpoint and model), when known.</param>
/// <param name="ContentUpdates">How many updates with content it streamed — also those a replay regenerated that were already delivered, so they were paid for twice. For most OpenAI models one update is one output token.</param>
/// <param name="Usage">The usage its server reported, when it sent one (a broken attempt never does).</param>
public sealed record OpenAIStreamAttempt(int Number, string? RequestId, string? Route, long ContentUpdates, Protocol.OpenAIUsage? Usage);

/// <summary>The delivered arguments of one tool call.</summary>
/// <param name="Index">The tool call's index.</param>
/// <param name="Arguments">Its arguments text.</param>
public sealed record OpenAIStreamCheckpointToolCall(int Index, OpenAIStreamCheckpointText Arguments);

/// <summary>An amount of delivered text and its stable hash.</summary>
/// <param name="Chars">Its length in UTF-16 characters.</param>
/// <param name="Utf8Bytes">Its length in UTF-8 bytes.</param>
/// <param name="Hash">Its 64-bit FNV-1a hash over its UTF-16 code units (low byte first): the same on every machine.</param>
public readonly record struct OpenAIStreamCheckpointText(long Chars, long Utf8Bytes, ulong Hash);
