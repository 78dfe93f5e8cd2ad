using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>What the verifier made of one update of a replayed answer.</summary>
internal enum ReplayStep
{
    /// <summary>Everything in it was already delivered: nothing goes to the consumer.</summary>
    Skip,

    /// <summary>It carries something new (perhaps only the end of its text): <c>emit</c> goes to the consumer.</summary>
    Emit,

    /// <summary>The replayed answer is not the one delivered.</summary>
    Diverged,
}

/// <summary>
/// Follows a replayed answer against what the broken stream had delivered (<see cref="DeliveryLedger"/>): each text of each
/// choice is counted and hashed as it is regenerated; the part already delivered is dropped, and when a text reaches the
/// delivered length its hash must equal the delivered one — else the answer diverged. What goes on is exactly the rest:
/// the end of a text that straddles the delivered length, the texts and tool calls that are new, a finish reason only once
/// every text of its choice is complete. The role, and a tool call's id and name, already delivered are not sent again.
/// </summary>
internal sealed class ReplayVerifier
{
    private readonly DeliveryLedger _delivered;
    private readonly Dictionary<int, ChoiceLedger> _replayed = [];
    private readonly List<ChatCompletionUpdate> _consumed = [];
    private readonly long _maxBufferedChars;
    private long _bufferedChars;

    public ReplayVerifier(DeliveryLedger delivered, long maxBufferedChars)
    {
        _delivered = delivered;
        _maxBufferedChars = maxBufferedChars;
    }

    /// <summary>Gets every replayed update seen so far, as it came (the new answer from its beginning, for a restart).</summary>
    public IReadOnlyList<ChatCompletionUpdate> Consumed => _consumed;

    /// <summary>Gets why the answer diverged, once it has.</summary>
    public string? Divergence { get; private set; }

    /// <summary>Gets a value indicating whether the replay has regenerated everything that was delivered.</summary>
    public bool CaughtUp
    {
        get
        {
            for (int index = 0; index < 1024; index++)
            {
                if (_delivered.Choice(index) is { } delivered && !CaughtUpOn(index, delivered))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Follows one replayed update; <paramref name="emit"/> is what goes to the consumer when the step is <see cref="ReplayStep.Emit"/>.</summary>
    public ReplayStep Process(in ChatCompletionUpdate update, out ChatCompletionUpdate emit)
    {
        emit = default;
        if (Divergence is not null)
        {
            return ReplayStep.Diverged;
        }

        Keep(update);
        int index = update.ChoiceIndex;
        if (index < 0)
        {
            // A chunk without a choice: the usage goes on (it is the replay's), a prompt-filter chunk was already delivered.
            if (update.Usage is null)
            {
                return ReplayStep.Skip;
            }

            emit = update;
            return ReplayStep.Emit;
        }

        ChoiceLedger? delivered = _delivered.Choice(index);
        if (!_replayed.TryGetValue(index, out ChoiceLedger? replayed))
        {
            replayed = new ChoiceLedger();
            _replayed.Add(index, replayed);
        }

        if (delivered is null)
        {
            replayed.Record(update);
            emit = update;
            return ReplayStep.Emit; // a choice the broken stream never reached: all of it is new
        }

        string? text = Rest(ref replayed.Content, delivered.Content, update.Text, "content");
        string? refusal = Rest(ref replayed.Refusal, delivered.Refusal, update.Refusal, "refusal");
        List<ChatToolCallUpdate>? calls = null;
        for (int i = 0, count = update.ToolCalls.Count; i < count; i++) // indexed: an interface foreach allocates an enumerator per update
        {
            ChatToolCallUpdate fragment = update.ToolCalls[i];
            ChatToolCallUpdate? rest = RestOf(fragment, delivered, replayed);
            if (rest is not null)
            {
                (calls ??= []).Add(rest);
            }
        }

        string? finish = update.FinishReason;
        if (finish is not null)
        {
            if (!CaughtUpOn(index, delivered))
            {
                Divergence ??= $"choice {index} finished before it had regenerated what was delivered";
            }
            else if (delivered.FinishReason is not null)
            {
                finish = delivered.FinishReason == finish ? null : Diverge($"choice {index} finished with {finish}, not {delivered.FinishReason}");
            }
        }

        if (Divergence is not null)
        {
            return ReplayStep.Diverged;
        }

        string? role = delivered.RoleDelivered ? null : update.Role;
        if (text is null && refusal is null && calls is null && finish is null && role is null)
        {
            return ReplayStep.Skip;
        }

        emit = new ChatCompletionUpdate(update.Header, index, role, text, refusal, calls, finish, update.Usage);
        return ReplayStep.Emit;
    }

    /// <summary>The replay ended: it diverged if it has not regenerated everything delivered.</summary>
    public bool EndedShort()
    {
        if (Divergence is null && !CaughtUp)
        {
            Divergence = "the replayed answer ended before it had regenerated what was delivered";
        }

        return Divergence is not null;
    }

    private bool CaughtUpOn(int index, ChoiceLedger delivered)
    {
        if (!_replayed.TryGetValue(index, out ChoiceLedger? replayed))
        {
            return delivered.Content.Chars == 0 && delivered.Refusal.Chars == 0 && delivered.ToolCallCount == 0;
        }

        if (replayed.Content.Chars < delivered.Content.Chars || replayed.Refusal.Chars < delivered.Refusal.Chars)
        {
            return false;
        }

        if (delivered.ToolCallCount == 0)
        {
            return true;
        }

        foreach (KeyValuePair<int, ToolCallLedger> pair in delivered.ToolCalls)
        {
            if (replayed.ToolCall(pair.Key) is not { } call || call.Arguments.Chars < pair.Value.Arguments.Chars)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The part of a replayed <paramref name="piece"/> that was not delivered; checks the hash where the two meet.</summary>
    private string? Rest(ref TextLedger replayed, in TextLedger delivered, string? piece, string what)
    {
        if (string.IsNullOrEmpty(piece))
        {
            return null;
        }

        long need = delivered.Chars - replayed.Chars;
        if (need <= 0)
        {
            replayed.Append(piece);
            return piece;
        }

        if (piece.Length <= need)
        {
            replayed.Append(piece);
            if (replayed.Chars == delivered.Chars && !replayed.Matches(delivered))
            {
                Diverge($"the regenerated {what} differs from the delivered one");
            }

            return null;
        }

        replayed.Append(piece.AsSpan(0, (int)need));
        if (!replayed.Matches(delivered))
        {
            Diverge($"the regenerated {what} differs from the delivered one");
            return null;
        }

        string rest = piece[(int)need..];
        replayed.Append(rest);
        return rest;
    }

    private ChatToolCallUpdate? RestOf(ChatToolCallUpdate fragment, ChoiceLedger delivered, ChoiceLedger replayed)
    {
        if (!replayed.ToolCalls.TryGetValue(fragment.Index, out ToolCallLedger? replayedCall))
        {
            replayedCall = new ToolCallLedger();
            replayed.ToolCalls.Add(fragment.Index, replayedCall);
        }

        if (delivered.ToolCall(fragment.Index) is not { } deliveredCall)
        {
            replayedCall.Record(fragment);
            return fragment; // a tool call the broken stream never reached
        }

        if (!string.IsNullOrEmpty(fragment.FunctionName) && deliveredCall.FunctionName is { } name && name != fragment.FunctionName)
        {
            Diverge($"tool call {fragment.Index} calls {fragment.FunctionName}, not {name}");
            return null;
        }

        string? arguments = Rest(ref replayedCall.Arguments, deliveredCall.Arguments, fragment.ArgumentsDelta, $"arguments of tool call {fragment.Index}");
        bool headerDelivered = deliveredCall.Id is not null || deliveredCall.FunctionName is not null;
        string? id = headerDelivered ? null : fragment.Id;
        string? type = headerDelivered ? null : fragment.Type;
        string? function = headerDelivered ? null : fragment.FunctionName;
        if (arguments is null && id is null && function is null)
        {
            return null;
        }

        return new ChatToolCallUpdate(fragment.Index, id, type, function, arguments);
    }

    private string? Diverge(string why)
    {
        Divergence ??= why;
        return null;
    }

    /// <summary>Keeps the replayed update for a restart, within a bound: past it, a restart is not possible.</summary>
    private void Keep(in ChatCompletionUpdate update)
    {
        _bufferedChars += (update.Text?.Length ?? 0) + (update.Refusal?.Length ?? 0);
        if (_bufferedChars <= _maxBufferedChars)
        {
            _consumed.Add(update);
        }
    }

    /// <summary>Gets a value indicating whether every replayed update was kept (a restart can hand out the new answer whole).</summary>
    public bool KeptEverything => _bufferedChars <= _maxBufferedChars;
}
