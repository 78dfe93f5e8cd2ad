using OpenAIStreaming.Protocol.Internal;

namespace OpenAIStreaming.Protocol;

/// <summary>
/// One choice's part of one streamed Chat Completions chunk (<c>chat.completion.chunk</c>), or of a legacy completions
/// chunk (<c>text_completion</c>). A chunk without choices (the usage chunk, Azure's prompt-filter chunk) gives one update
/// with <see cref="ChoiceIndex"/> −1.
/// </summary>
public readonly struct ChatCompletionUpdate
{
    private readonly ChatChunkHeader? _header;
    private readonly IReadOnlyList<ChatToolCallUpdate>? _toolCalls;
    private readonly object? _signal; // the checkpoint, or a restart's checkpoint boxed in RestartSignal

    internal ChatCompletionUpdate(
        ChatChunkHeader header,
        int choiceIndex,
        string? role,
        string? text,
        string? refusal,
        IReadOnlyList<ChatToolCallUpdate>? toolCalls,
        string? finishReason,
        OpenAIUsage? usage)
    {
        _header = header;
        ChoiceIndex = choiceIndex;
        Role = role;
        Text = text;
        Refusal = refusal;
        _toolCalls = toolCalls;
        FinishReason = finishReason;
        Usage = usage;
    }

    private ChatCompletionUpdate(in ChatCompletionUpdate update, object? signal)
    {
        _header = update._header;
        ChoiceIndex = update.ChoiceIndex;
        Role = update.Role;
        Text = update.Text;
        Refusal = update.Refusal;
        _toolCalls = update._toolCalls;
        FinishReason = update.FinishReason;
        Usage = update.Usage;
        _signal = signal;
    }

    /// <summary>Gets the completion id (<c>id</c>), the same in every chunk of a stream.</summary>
    public string? Id => _header?.Id;

    /// <summary>Gets the model that produced the chunk (<c>model</c>).</summary>
    public string? Model => _header?.Model;

    /// <summary>Gets the creation time in Unix seconds (<c>created</c>).</summary>
    public long Created => _header?.Created ?? 0;

    /// <summary>Gets <c>system_fingerprint</c>.</summary>
    public string? SystemFingerprint => _header?.SystemFingerprint;

    /// <summary>Gets <c>service_tier</c>.</summary>
    public string? ServiceTier => _header?.ServiceTier;

    /// <summary>Gets the choice index (<c>choices[].index</c>), or −1 when the chunk had no choice.</summary>
    public int ChoiceIndex { get; }

    /// <summary>Gets <c>delta.role</c>, normally present only in a choice's first chunk.</summary>
    public string? Role { get; }

    /// <summary>Gets the text delta: <c>delta.content</c>, or <c>choices[].text</c> for legacy completions.</summary>
    public string? Text { get; }

    /// <summary>Gets the refusal delta (<c>delta.refusal</c>).</summary>
    public string? Refusal { get; }

    /// <summary>Gets the tool-call fragments of this chunk; empty when there are none.</summary>
    public IReadOnlyList<ChatToolCallUpdate> ToolCalls => _toolCalls ?? [];

    /// <summary>Gets the finish reason (<c>stop</c>, <c>length</c>, <c>tool_calls</c>, <c>content_filter</c>, …), set on a choice's last chunk.</summary>
    public string? FinishReason { get; }

    /// <summary>Gets the usage, set on the final usage chunk when <c>stream_options.include_usage</c> is on.</summary>
    public OpenAIUsage? Usage { get; }

    /// <summary>
    /// Gets a checkpoint of everything delivered up to and including this update, when this update carries one: through
    /// <see cref="OpenAIStreamingHandler"/> with recovery on, every <see cref="OpenAIStreamingRecoveryOptions.CheckpointInterval"/>-th
    /// update that carries content, each finish, and every restart. Otherwise null.
    /// </summary>
    public OpenAIStreamCheckpoint? Checkpoint => _signal as OpenAIStreamCheckpoint ?? (_signal as RestartSignal)?.Checkpoint;

    /// <summary>
    /// Gets a value indicating whether this update says the stream starts over: a broken stream was recovered, but the
    /// replayed answer differs from the one delivered (<see cref="OpenAIStreamingDivergencePolicy.Restart"/>). Discard
    /// everything received so far (<see cref="Checkpoint"/> describes it); the new answer follows from its beginning. It
    /// carries nothing else (<see cref="ChoiceIndex"/> is −1).
    /// </summary>
    public bool IsRestart => _signal is RestartSignal;

    /// <summary>Gets the chunk's shared fields.</summary>
    internal ChatChunkHeader Header => _header ?? ChatChunkHeader.Empty;

    internal ChatCompletionUpdate WithCheckpoint(OpenAIStreamCheckpoint checkpoint) => new(this, checkpoint);

    internal static ChatCompletionUpdate Restart(OpenAIStreamCheckpoint checkpoint) =>
        new(new ChatCompletionUpdate(ChatChunkHeader.Empty, -1, null, null, null, null, null, null), new RestartSignal(checkpoint));

    internal ChatCompletionUpdate WithText(string text) =>
        new(_header ?? ChatChunkHeader.Empty, ChoiceIndex, Role, text, Refusal, _toolCalls, FinishReason, Usage);

    /// <summary>This update with its one tool call's arguments delta replaced (a chunk of the same shape with other arguments).</summary>
    internal ChatCompletionUpdate WithArgumentsDelta(string arguments) =>
        new(_header ?? ChatChunkHeader.Empty, ChoiceIndex, Role, Text, Refusal, [_toolCalls![0] with { ArgumentsDelta = arguments }], FinishReason, Usage);

    /// <inheritdoc />
    public override string ToString() => IsRestart ? "[restart]" : $"[{ChoiceIndex}] {Text ?? Refusal ?? FinishReason}";

    private sealed record RestartSignal(OpenAIStreamCheckpoint Checkpoint);
}
