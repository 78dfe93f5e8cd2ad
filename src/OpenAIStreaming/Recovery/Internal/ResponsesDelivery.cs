using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// What a Responses stream delivered, for both of its readers (the typed cursor and the byte body): per output item (as a
/// choice, by <c>output_index</c>) the text, refusal and function-argument deltas in a <see cref="DeliveryLedger"/>, the first
/// response's id and item ids, and the last sequence number. While a replay is read it decides, event by event, what of it
/// goes on: a delta only past what was delivered (checked against it), any other event only past the last one delivered —
/// the replay of a deterministic answer has the same events, so their sequence numbers line up.
/// </summary>
internal sealed class ResponsesDelivery(bool keepText)
{
    private readonly Dictionary<int, string> _itemIds = [];
    private ReplayVerifier? _verifier;
    private ChatChunkHeader _header = ChatChunkHeader.Empty; // carries the response id into the ledger, once known

    /// <summary>Gets the ledger of what was delivered.</summary>
    public DeliveryLedger Ledger { get; } = new(keepText);

    /// <summary>Gets the first response's id: the one every event passed on carries.</summary>
    public string? ResponseId { get; private set; }

    /// <summary>Gets the sequence number of the last event passed on.</summary>
    public long? LastSequence { get; private set; }

    /// <summary>Gets a value indicating whether a replay is being read.</summary>
    public bool Replaying => _verifier is not null;

    /// <summary>Gets why the replay diverged, once it has.</summary>
    public string? Divergence { get; private set; }

    /// <summary>A replay of the request follows: its events are checked against what was delivered.</summary>
    public void StartReplay() => _verifier = new ReplayVerifier(Ledger, maxBufferedChars: 0);

    /// <summary>The delivered item id of the output item <paramref name="outputIndex"/>, when one was delivered.</summary>
    public string? ItemId(int? outputIndex) => outputIndex is int index ? _itemIds.GetValueOrDefault(index) : null;

    /// <summary>
    /// Records an event passed on (<paramref name="text"/>: its text delta, decoded); returns whether it delivered a delta.
    /// </summary>
    public bool Delivered(in ResponseStreamEvent e, ReadOnlySpan<char> text)
    {
        LastSequence = e.SequenceNumber ?? LastSequence;
        if (ResponseId is null && e.ResponseId is { } responseId)
        {
            ResponseId = responseId;
            _header = new ChatChunkHeader(responseId, null, 0, null, null);
        }

        if (e is { OutputIndex: int index, ItemId: { } itemId })
        {
            _itemIds.TryAdd(index, itemId);
        }

        return e.Kind == ResponseStreamEventKind.OutputTextDelta
            ? Ledger.Record(new ChatCompletionUpdate(_header, e.OutputIndex ?? 0, null, null, null, null, null, null), text)
            : Update(e, _header) is { } update && Ledger.Record(update);
    }

    /// <summary>
    /// Whether a replayed event (decoded with its text) goes on; <paramref name="delta"/> is its delta as it goes on (the
    /// part past what was delivered). False, with <see cref="Divergence"/> set, when the replay differs.
    /// </summary>
    public ReplayStep Replayed(in ResponseStreamEvent e, out string? delta)
    {
        ReplayVerifier verifier = _verifier!;
        delta = null;
        if (Update(e, _header) is { } update)
        {
            ReplayStep step = verifier.Process(update, out ChatCompletionUpdate emit);
            if (step == ReplayStep.Diverged)
            {
                Divergence = verifier.Divergence;
            }
            else if (step == ReplayStep.Emit)
            {
                delta = emit.Text ?? emit.Refusal ?? (emit.ToolCalls.Count > 0 ? emit.ToolCalls[0].ArgumentsDelta : null) ?? string.Empty;
            }

            return step;
        }

        if (e.SequenceNumber <= LastSequence)
        {
            if (e.IsTerminal)
            {
                Divergence = "it ended before it had regenerated what was delivered";
                return ReplayStep.Diverged;
            }

            return ReplayStep.Skip; // an event of the answer's structure the broken stream had delivered
        }

        if (!verifier.CaughtUp)
        {
            Divergence = $"its event {e.SequenceNumber} ({e.Type}) came before it had regenerated what was delivered";
            return ReplayStep.Diverged;
        }

        return ReplayStep.Emit;
    }

    /// <summary>
    /// Recovers a broken stream: a background response is resumed after <paramref name="liveSequence"/> of
    /// <paramref name="liveResponseId"/> (unless the server itself reported the failure: the stored response holds it too);
    /// any other — or one no longer stored — is sent again, and a replay starts. Null when neither brought an answer (the
    /// break is then what the reader reports).
    /// </summary>
    public async ValueTask<(ReplayedBody Body, bool Resumed)?> RecoverAsync(CallContext call, string? liveResponseId, long? liveSequence, Exception failure, CancellationToken cancellationToken)
    {
        bool serverReported = failure is OpenAIStreamException { IsBrokenBody: false } and not OpenAIStreamProtocolException and not OpenAIStreamTimeoutException;
        if (call.CanResume && !serverReported && liveResponseId is not null && liveSequence is long after)
        {
            try
            {
                ReplayedBody resumed = await call.ResumeAsync(liveResponseId, after, cancellationToken).ConfigureAwait(false);
                call.Metrics?.Recovery("resumed");
                return (resumed, true);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && call.CanRecover)
            {
                // not stored any more (they expire after minutes): sent again below
            }
        }

        try
        {
            ReplayedBody replay = await call.ReplayAsync(cancellationToken).ConfigureAwait(false);
            call.Metrics?.Recovery("replayed");
            StartReplay();
            return (replay, false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            call.Metrics?.Recovery("failed");
            return null;
        }
    }

    /// <summary>What an event delivers, as the ledger counts it: a text, refusal or argument delta; null for other events.</summary>
    private static ChatCompletionUpdate? Update(in ResponseStreamEvent e, ChatChunkHeader header)
    {
        int item = e.OutputIndex ?? 0;
        return e.Kind switch
        {
            ResponseStreamEventKind.OutputTextDelta => new ChatCompletionUpdate(header, item, null, e.Delta, null, null, null, null),
            ResponseStreamEventKind.RefusalDelta => new ChatCompletionUpdate(header, item, null, null, e.Delta, null, null, null),
            ResponseStreamEventKind.FunctionCallArgumentsDelta => new ChatCompletionUpdate(header, item, null, null, null, [new ChatToolCallUpdate(0, null, null, null, e.Delta)], null, null),
            _ => null,
        };
    }
}
