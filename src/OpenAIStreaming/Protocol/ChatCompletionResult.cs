namespace OpenAIStreaming.Protocol;

/// <summary>A streamed chat completion assembled by <see cref="ChatCompletionAccumulator"/>.</summary>
public sealed class ChatCompletionResult
{
    internal ChatCompletionResult(string? id, string? model, string? systemFingerprint, IReadOnlyList<ChatChoiceResult> choices, OpenAIUsage? usage)
    {
        Id = id;
        Model = model;
        SystemFingerprint = systemFingerprint;
        Choices = choices;
        Usage = usage;
    }

    /// <summary>Gets the completion id (the first non-empty id of the stream).</summary>
    public string? Id { get; }

    /// <summary>Gets the model that answered (the first non-empty model of the stream).</summary>
    public string? Model { get; }

    /// <summary>Gets the last non-empty system fingerprint of the stream.</summary>
    public string? SystemFingerprint { get; }

    /// <summary>Gets the choices, ordered by index.</summary>
    public IReadOnlyList<ChatChoiceResult> Choices { get; }

    /// <summary>Gets the usage: the last usage the stream reported (servers that repeat cumulative usage are not summed).</summary>
    public OpenAIUsage? Usage { get; }
}
