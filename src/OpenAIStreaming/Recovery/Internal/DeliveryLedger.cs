using System.Text;
using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// What a stream has delivered to its consumer, choice by choice: the length and a stable hash of each text (content,
/// refusal, each tool call's arguments), whether the role, a tool call's name and the finish reason went out. Recovery
/// checks a replayed answer against it; checkpoints are taken from it.
/// </summary>
internal sealed class DeliveryLedger
{
    private readonly SortedDictionary<int, ChoiceLedger> _choices = [];
    private int _lastIndex = -1; // the choice of the last update: nearly every update's
    private ChoiceLedger? _last;

    /// <summary>Gets how many updates that carried content were delivered.</summary>
    public long ContentUpdates { get; private set; }

    /// <summary>Gets the response id of the stream the consumer is reading, once known.</summary>
    public string? ResponseId { get; private set; }

    /// <summary>Gets the delivered state of choice <paramref name="index"/>, or null when nothing of it was delivered.</summary>
    public ChoiceLedger? Choice(int index) => _choices.GetValueOrDefault(index);

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
            if (!_choices.TryGetValue(update.ChoiceIndex, out choice))
            {
                choice = new ChoiceLedger();
                _choices.Add(update.ChoiceIndex, choice);
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

    /// <summary>Forgets everything: the consumer was told to discard what it had (a restart).</summary>
    public void Clear()
    {
        _choices.Clear();
        _last = null;
        _lastIndex = -1;
        ResponseId = null;
    }

    /// <summary>Takes a checkpoint of what was delivered (and by which <paramref name="attempts"/>, when it was recovered).</summary>
    public OpenAIStreamCheckpoint Snapshot(string? route, IReadOnlyList<OpenAIStreamAttempt>? attempts = null)
    {
        var choices = new OpenAIStreamCheckpointChoice[_choices.Count];
        if (choices.Length == 1 && _last is not null)
        {
            choices[0] = _last.Snapshot(_lastIndex); // without the sorted enumeration and what it allocates
        }
        else
        {
            int i = 0;
            foreach (KeyValuePair<int, ChoiceLedger> pair in _choices)
            {
                choices[i++] = pair.Value.Snapshot(pair.Key);
            }
        }

        return new OpenAIStreamCheckpoint(ContentUpdates, choices, ResponseId, route, attempts);
    }
}

/// <summary>The delivered state of one choice.</summary>
internal sealed class ChoiceLedger
{
    public TextLedger Content;
    public TextLedger Refusal;

    public SortedDictionary<int, ToolCallLedger> ToolCalls { get; } = [];

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
            content = true;
        }

        if (!string.IsNullOrEmpty(update.Refusal))
        {
            Refusal.Append(update.Refusal);
            content = true;
        }

        foreach (ChatToolCallUpdate fragment in update.ToolCalls)
        {
            if (!ToolCalls.TryGetValue(fragment.Index, out ToolCallLedger? call))
            {
                call = new ToolCallLedger();
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

    public OpenAIStreamCheckpointChoice Snapshot(int index)
    {
        OpenAIStreamCheckpointToolCall[] calls = [];
        if (ToolCalls.Count > 0) // a sorted dictionary's enumerator allocates, even over nothing
        {
            calls = new OpenAIStreamCheckpointToolCall[ToolCalls.Count];
            int i = 0;
            foreach (KeyValuePair<int, ToolCallLedger> pair in ToolCalls)
            {
                calls[i++] = new OpenAIStreamCheckpointToolCall(pair.Key, pair.Value.Arguments.Snapshot());
            }
        }

        return new OpenAIStreamCheckpointChoice(index, Content.Snapshot(), Refusal.Snapshot(), calls, FinishReason);
    }
}

/// <summary>The delivered state of one tool call: whether its id and name went out, and its arguments.</summary>
internal sealed class ToolCallLedger
{
    public TextLedger Arguments;

    public string? Id { get; private set; }

    public string? FunctionName { get; private set; }

    public void Record(ChatToolCallUpdate fragment)
    {
        Id ??= string.IsNullOrEmpty(fragment.Id) ? null : fragment.Id;
        FunctionName ??= string.IsNullOrEmpty(fragment.FunctionName) ? null : fragment.FunctionName;
        if (!string.IsNullOrEmpty(fragment.ArgumentsDelta))
        {
            Arguments.Append(fragment.ArgumentsDelta);
        }
    }
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
