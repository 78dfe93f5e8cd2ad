using System.Text;
using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// What a stream has delivered to its consumer, choice by choice: the length and a stable hash of each text (content,
/// refusal, each tool call's arguments), whether the role, a tool call's name and the finish reason went out. Recovery
/// checks a replayed answer against it; checkpoints are taken from it.
/// </summary>
internal sealed class DeliveryLedger(bool keepText = false)
{
    private readonly DeliveredText? _text = keepText ? new DeliveredText() : null;
    private int _firstIndex = -1; // the first choice delivered: nearly every answer has one choice only
    private ChoiceLedger? _first;
    private SortedList<int, ChoiceLedger>? _choices; // every choice, once a second one is delivered
    private int _lastIndex = -1; // the choice of the last update: nearly every update's
    private ChoiceLedger? _last;

    /// <summary>Gets how many updates that carried content were delivered.</summary>
    public long ContentUpdates { get; private set; }

    /// <summary>Gets the response id of the stream the consumer is reading, once known.</summary>
    public string? ResponseId { get; private set; }

    /// <summary>Gets the delivered state of choice <paramref name="index"/>, or null when nothing of it was delivered.</summary>
    public ChoiceLedger? Choice(int index) =>
        _choices is { } choices ? choices.GetValueOrDefault(index) : index == _firstIndex ? _first : null;

    private int ChoiceCount => _choices?.Count ?? (_first is null ? 0 : 1);

    /// <summary>Records an update handed to the consumer. Returns whether it carried content (text, refusal, tool call or a finish).</summary>
    public bool Record(in ChatCompletionUpdate update) => Record(update, update.Text);

    /// <summary>Records <paramref name="update"/> with <paramref name="text"/> as its text (decoded without making a string).</summary>
    public bool Record(in ChatCompletionUpdate update, ReadOnlySpan<char> text)
    {
        ResponseId ??= update.Id;
        if (update.ChoiceIndex < 0)
        {
            return false;
        }

        ChoiceLedger? choice = _last;
        if (update.ChoiceIndex != _lastIndex || choice is null)
        {
            choice = Choice(update.ChoiceIndex);
            if (choice is null)
            {
                choice = new ChoiceLedger(_text);
                if (_first is null)
                {
                    _first = choice;
                    _firstIndex = update.ChoiceIndex;
                }
                else
                {
                    (_choices ??= new SortedList<int, ChoiceLedger> { [_firstIndex] = _first }).Add(update.ChoiceIndex, choice);
                }
            }

            _lastIndex = update.ChoiceIndex;
            _last = choice;
        }

        bool content = choice.Record(update, text);
        if (content)
        {
            ContentUpdates++;
        }

        return content;
    }

    /// <summary>
    /// The answer as delivered — text, refusal, tool calls and finish reason per choice — when the ledger keeps the text
    /// and it stayed within <see cref="Protocol.ChatCompletionAccumulatorOptions.DefaultMaxTotalCharacters"/>; null otherwise.
    /// </summary>
    public Protocol.ChatCompletionResult? PartialResult()
    {
        if (_text is not { Complete: true })
        {
            return null;
        }

        var choices = new List<Protocol.ChatChoiceResult>(ChoiceCount);
        if (_choices is null)
        {
            if (_first is not null)
            {
                choices.Add(_first.Result(_firstIndex));
            }
        }
        else
        {
            foreach (KeyValuePair<int, ChoiceLedger> pair in _choices)
            {
                choices.Add(pair.Value.Result(pair.Key));
            }
        }

        return new Protocol.ChatCompletionResult(ResponseId, model: null, systemFingerprint: null, choices, usage: null);
    }

    /// <summary>
    /// The delivered text a continuation would carry as its assistant prefill: the content of the only choice (index 0),
    /// when nothing else of it was delivered (no refusal, tool call or finish) and the text was kept whole; null otherwise.
    /// </summary>
    public string? ContinuationText()
    {
        if (_text is not { Complete: true } || ChoiceCount != 1 || _last is not { } choice || _lastIndex != 0)
        {
            return null;
        }

        return choice.ContinuationText();
    }

    /// <summary>Forgets everything: the consumer was told to discard what it had (a restart).</summary>
    public void Clear()
    {
        _text?.Clear();
        _choices = null;
        _first = null;
        _firstIndex = -1;
        _last = null;
        _lastIndex = -1;
        ResponseId = null;
    }

    /// <summary>Takes a checkpoint of what was delivered (and by which <paramref name="attempts"/>, when it was recovered).</summary>
    public OpenAIStreamCheckpoint Snapshot(string? route, IReadOnlyList<OpenAIStreamAttempt>? attempts = null, long? sequenceNumber = null)
    {
        var choices = new OpenAIStreamCheckpointChoice[ChoiceCount];
        if (_choices is null)
        {
            if (_first is not null)
            {
                choices[0] = _first.Snapshot(_firstIndex); // without the sorted enumeration and what it allocates
            }
        }
        else
        {
            int i = 0;
            foreach (KeyValuePair<int, ChoiceLedger> pair in _choices)
            {
                choices[i++] = pair.Value.Snapshot(pair.Key);
            }
        }

        return new OpenAIStreamCheckpoint(ContentUpdates, choices, ResponseId, route, attempts, sequenceNumber);
    }
}

/// <summary>How much delivered text a ledger that keeps it holds, bounded as an accumulator is.</summary>
internal sealed class DeliveredText
{
    private long _chars;

    /// <summary>Gets a value indicating whether every delivered character is kept (the bound was never reached).</summary>
    public bool Complete { get; private set; } = true;

    /// <summary>Appends <paramref name="text"/> to <paramref name="target"/> while the bound allows; past it, nothing more is kept.</summary>
    public void Append(ref System.Text.StringBuilder? target, ReadOnlySpan<char> text)
    {
        if (!Complete || text.IsEmpty)
        {
            return;
        }

        _chars += text.Length;
        if (_chars > Protocol.ChatCompletionAccumulatorOptions.DefaultMaxTotalCharacters)
        {
            Complete = false;
            return;
        }

        (target ??= new System.Text.StringBuilder()).Append(text);
    }

    public void Clear()
    {
        _chars = 0;
        Complete = true;
    }
}

/// <summary>The delivered state of one choice.</summary>
internal sealed class ChoiceLedger(DeliveredText? keep = null)
{
    public TextLedger Content;
    public TextLedger Refusal;
    private System.Text.StringBuilder? _contentText;
    private System.Text.StringBuilder? _refusalText;

    private SortedList<int, ToolCallLedger>? _toolCalls; // created with the first tool call: most answers have none

    public SortedList<int, ToolCallLedger> ToolCalls => _toolCalls ??= [];

    /// <summary>Gets how many tool calls were delivered (without creating their list).</summary>
    public int ToolCallCount => _toolCalls?.Count ?? 0;

    /// <summary>The delivered state of tool call <paramref name="index"/>, or null when none was delivered (without creating their list).</summary>
    public ToolCallLedger? ToolCall(int index) => _toolCalls?.GetValueOrDefault(index);

    public bool RoleDelivered { get; private set; }

    public string? FinishReason { get; private set; }

    public bool Record(in ChatCompletionUpdate update) => Record(update, update.Text);

    public bool Record(in ChatCompletionUpdate update, ReadOnlySpan<char> text)
    {
        bool content = false;
        RoleDelivered |= update.Role is not null;
        if (!text.IsEmpty)
        {
            Content.Append(text);
            keep?.Append(ref _contentText, text);
            content = true;
        }

        if (!string.IsNullOrEmpty(update.Refusal))
        {
            Refusal.Append(update.Refusal);
            keep?.Append(ref _refusalText, update.Refusal);
            content = true;
        }

        for (int i = 0, count = update.ToolCalls.Count; i < count; i++) // indexed: an interface foreach allocates an enumerator per update
        {
            ChatToolCallUpdate fragment = update.ToolCalls[i];
            if (!ToolCalls.TryGetValue(fragment.Index, out ToolCallLedger? call))
            {
                call = new ToolCallLedger(keep);
                ToolCalls.Add(fragment.Index, call);
            }

            call.Record(fragment);
            content = true;
        }

        if (update.FinishReason is not null)
        {
            FinishReason = update.FinishReason;
            content = true;
        }

        return content;
    }

    /// <summary>Its content, when that is all it delivered and it was kept; null otherwise.</summary>
    public string? ContinuationText() =>
        Refusal.Chars == 0 && _toolCalls is not { Count: > 0 } && FinishReason is null && _contentText is { Length: > 0 } text ? text.ToString() : null;

    /// <summary>The choice as delivered (its kept text).</summary>
    public Protocol.ChatChoiceResult Result(int index)
    {
        var calls = new List<Protocol.ChatToolCall>(ToolCallCount);
        if (_toolCalls is { } toolCalls)
        {
            foreach (KeyValuePair<int, ToolCallLedger> pair in toolCalls)
            {
                calls.Add(pair.Value.Result(pair.Key));
            }
        }

        return new Protocol.ChatChoiceResult(index, RoleDelivered ? "assistant" : null, _contentText?.ToString() ?? string.Empty, _refusalText?.ToString(), FinishReason, calls);
    }

    public OpenAIStreamCheckpointChoice Snapshot(int index)
    {
        OpenAIStreamCheckpointToolCall[] calls = [];
        if (_toolCalls is { Count: > 0 } toolCalls) // the sorted list's enumerator allocates, even over nothing
        {
            calls = new OpenAIStreamCheckpointToolCall[toolCalls.Count];
            int i = 0;
            foreach (KeyValuePair<int, ToolCallLedger> pair in toolCalls)
            {
                calls[i++] = new OpenAIStreamCheckpointToolCall(pair.Key, pair.Value.Arguments.Snapshot());
            }
        }

        return new OpenAIStreamCheckpointChoice(index, Content.Snapshot(), Refusal.Snapshot(), calls, FinishReason);
    }
}

/// <summary>The delivered state of one tool call: whether its id and name went out, and its arguments.</summary>
internal sealed class ToolCallLedger(DeliveredText? keep = null)
{
    public TextLedger Arguments;
    private System.Text.StringBuilder? _argumentsText;

    public string? Id { get; private set; }

    public string? FunctionName { get; private set; }

    public void Record(ChatToolCallUpdate fragment)
    {
        Id ??= string.IsNullOrEmpty(fragment.Id) ? null : fragment.Id;
        FunctionName ??= string.IsNullOrEmpty(fragment.FunctionName) ? null : fragment.FunctionName;
        if (!string.IsNullOrEmpty(fragment.ArgumentsDelta))
        {
            Arguments.Append(fragment.ArgumentsDelta);
            keep?.Append(ref _argumentsText, fragment.ArgumentsDelta);
        }
    }

    /// <summary>The tool call as delivered (its kept arguments).</summary>
    public Protocol.ChatToolCall Result(int index) =>
        new(index, Id, Id is null ? null : "function", FunctionName, _argumentsText?.ToString() ?? string.Empty);
}

/// <summary>An amount of text and its stable hash, appended to piece by piece.</summary>
internal struct TextLedger
{
    public long Chars;
    public long Utf8Bytes;
    public ulong Hash;
    private bool _started;

    public void Append(ReadOnlySpan<char> text)
    {
        if (!_started)
        {
            Hash = StableHash.Empty;
            _started = true;
        }

        Chars += text.Length;
        Utf8Bytes += Encoding.UTF8.GetByteCount(text);
        Hash = StableHash.Append(Hash, text);
    }

    public readonly OpenAIStreamCheckpointText Snapshot() => new(Chars, Utf8Bytes, _started ? Hash : StableHash.Empty);

    /// <summary>Whether this text (a replay's so far) is the same as <paramref name="delivered"/>: same length, same hash.</summary>
    public readonly bool Matches(in TextLedger delivered) =>
        Chars == delivered.Chars && (Chars == 0 || Hash == delivered.Hash);
}
