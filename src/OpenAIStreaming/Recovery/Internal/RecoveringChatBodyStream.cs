using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// The body of a chat stream as the official SDK, or any reader of the raw bytes, reads it through the handler: the
/// server's events, passed on whole, one event at a time. Each event is decoded on the way into a ledger of what was
/// delivered, so that when the stream breaks after its commit point (cut, reset, stalled, a retryable error event, a
/// malformed event, an end before every choice finished) the call's request is sent again, the replayed answer is
/// checked against the ledger, and only what is new is passed on — at event boundaries, under the original response's
/// id — so the reader sees one well-formed stream with nothing missing or repeated.
/// </summary>
/// <remarks>
/// A stream that cannot be recovered (recovery off or used up, a replay that differs — which the byte path cannot
/// signal — or an error that is not retryable) ends with an OpenAI-shaped error event, <c>data: {"error":…}</c>, and then
/// the next read fails with the typed exception; never with <c>[DONE]</c>, because the official .NET SDK ends quietly on
/// an error event and would present the truncated answer as complete. A stream ends cleanly only after <c>[DONE]</c> or
/// once every choice has its finish reason. Synchronous reads get the body as it is, under the same timeouts and limits,
/// without recovery.
/// </remarks>
internal sealed class RecoveringChatBodyStream(CallContext call, IBodyOpener open, int maxEventSize, string? requestId, int statusCode)
    : RecoveringBodyStream(call, open, maxEventSize, requestId, statusCode)
{
    private static ReadOnlySpan<byte> DataPrefix => EventOutput.DataPrefix;

    private static ReadOnlySpan<byte> Done => "data: [DONE]\n\n"u8;

    private const int MaxFramedChars = 512; // the longest text the fused path decodes; longer goes the general way

    // Fail hands over what was delivered, and a continuation sends it back as the prefill: only then is it kept.
    private readonly DeliveryLedger _ledger = new(keepText: call.Recovery?.OnDivergence == OpenAIStreamingDivergencePolicy.Fail || call.CanContinue);
    private string? _continuedId; // after a continuation: the first response's id, which every event passed on carries
    private readonly List<ChatCompletionUpdate> _emits = new(1);
    private ChatChunkDecoder _decoder = new();
    private readonly ChoiceFinishTracker _choices = new();
    private ReplayVerifier? _verifier;

    [ThreadStatic]
    private static char[]? t_framedChars; // the fused path's text, decoded and accounted for within one call: the thread's, not each stream's
    private bool _done;
    private Exception? _pendingFailure; // a break the fast path met after it had bytes to hand out: handled by the next read
    private Exception? _break;
    private (long, ulong)? _malformed;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Plain is { } plain)
        {
            return plain.ReadAsync(buffer, cancellationToken);
        }

        if (_pendingFailure is { } failure)
        {
            _pendingFailure = null;
            return FailThenReadAsync(failure, buffer, cancellationToken);
        }

        int taken = 0;
        if (HasPending && buffer.Length > 0)
        {
            taken = TakePending(buffer.Span); // the rest of an event that did not fit the last read
        }

        // The usual read of a live stream: the next events are (or come at once) of the previous chunk's shape, and are
        // passed on without a state machine step.
        if (Events is { } events && taken < buffer.Length && Failure is null && !Ended && _verifier is null && _continuedId is null && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (TryForwardAtOnce(events, buffer.Length - taken, mayRead: taken == 0, cancellationToken))
                {
                    taken += TakePending(buffer.Span[taken..]);
                }
            }
            catch (Exception ex)
            {
                if (taken > 0)
                {
                    _pendingFailure = ex; // handled by the next read: these bytes go out first
                    return new ValueTask<int>(taken);
                }

                return FailThenReadAsync(ex, buffer, cancellationToken);
            }
        }

        return taken > 0 ? new ValueTask<int>(taken) : ReadSlowAsync(buffer, cancellationToken);
    }

    /// <summary>
    /// Forwards the events that are there at once that fit in <paramref name="room"/>, reading on (when
    /// <paramref name="mayRead"/>) while the stream has bytes at once; false when none was. A read it starts that has to wait
    /// is left for this same call's slow path, so no read outlives the call (and the token) that started it.
    /// </summary>
    private bool TryForwardAtOnce(SseEventReader events, int room, bool mayRead, CancellationToken cancellationToken)
    {
        bool any = false;
        while (Out.WrittenCount < room)
        {
            if (TryForwardDataLine(events))
            {
                any = true;
            }
            else if (any || !mayRead || events.TryReadMoreAtOnce(cancellationToken) != MoreBytes.Read)
            {
                break; // what arrived in one read goes out in one read
            }
        }

        return any;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> FailThenReadAsync(Exception failure, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (failure is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            ExceptionDispatchInfo.Throw(failure); // the reader's own cancellation: no verdict, nothing written
        }

        await OnFailureAsync(failure, cancellationToken).ConfigureAwait(false);
        return await ReadSlowAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    protected override void ReleaseOwn() => _decoder.Dispose();

    /// <summary>
    /// Takes the next event of the stream, and those after it already buffered while they fit in <paramref name="room"/>
    /// bytes, and writes what of them goes to the reader (perhaps nothing): a reader gets in one read what arrived in one.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    protected override async ValueTask StepAsync(int room, CancellationToken cancellationToken)
    {
        try
        {
            SseEventReader events = Events!;
            bool forwarded = TryForwardDataLine(events);

            // The next event has not fully arrived: wait for more bytes and try the fused path again, rather than framing
            // it apart once it has (a live stream's every event comes after a read that waited).
            while (!forwarded && _verifier is null && _continuedId is null && !Ended && await events.ReadMoreAsync(cancellationToken).ConfigureAwait(false))
            {
                forwarded = TryForwardDataLine(events);
            }

            if (!forwarded)
            {
                if (!await events.MoveNextAsync(cancellationToken).ConfigureAwait(false))
                {
                    EndOfEvents();
                    return;
                }

                Process(events);
            }

            while (!Ended && Out.WrittenCount < room)
            {
                if (!TryForwardDataLine(events))
                {
                    if (!events.TryMoveNextBuffered())
                    {
                        break;
                    }

                    Process(events);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested || Call.CallerToken.IsCancellationRequested)
        {
            throw; // the reader's or the caller's own cancellation: no verdict, nothing written
        }
        catch (Exception ex)
        {
            await OnFailureAsync(ex, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The fused fast path, while nothing is being replayed: the next buffered event is one <c>data:</c> line of the previous
    /// chunk's shape, decoded and passed on as it is in one pass, without framing it first.
    /// </summary>
    private bool TryForwardDataLine(SseEventReader events)
    {
        Span<char> text = t_framedChars ??= new char[MaxFramedChars]; // not on the stack: it would be cleared on every call
        if (_verifier is not null
            || _continuedId is not null // the id of each event is rewritten: the general way
            || !events.TryPeekDataLine(out ReadOnlySpan<byte> rest)
            || !_decoder.TryDecodeLine(rest, events.DataLineTerminator, text, out int written, out int length))
        {
            return false;
        }

        events.ConsumeDataLine(length); // first: its size check may refuse it, and then nothing of it goes out

        // Its choice and finish reason are the previous chunk's, already seen; its text is only accounted for, never made a string.
        _ledger.Record(_decoder.TemplateUpdate, text[..written]);
        Out.Write(DataPrefix);
        Out.Write(rest[..length]);
        Out.Write(SseEventReader.DataLineEnd);
        return true;
    }

    private void Process(SseEventReader events)
    {
        ServerSentEvent current = events.Current;
        ReadOnlySpan<byte> data = current.Data.Span;
        if (TypedStreamReader.IsBlank(data))
        {
            return; // an empty keep-alive event
        }

        if (Decode(events, data) is not { } kind)
        {
            return; // the same malformed event as before, in the replay: skipped
        }

        if (kind == ChatChunkKind.Done)
        {
            _done = true;
            EndOfEvents();
            return;
        }

        Forward(current);
    }

    private ChatChunkKind? Decode(SseEventReader events, ReadOnlySpan<byte> data)
    {
        try
        {
            return _decoder.Decode(data, events.CurrentIndex, RequestId);
        }
        catch (OpenAIStreamProtocolException)
        {
            (long, ulong) malformed = RecoveryRules.MalformedIdentity(events.CurrentIndex, data);
            if (_verifier is not null && _malformed == malformed && _verifier.CaughtUp && RecoveryRules.CarriesNothing(data))
            {
                Call.Metrics?.Recovery("malformed_event_skipped");
                return null;
            }

            _malformed = malformed;
            throw;
        }
    }

    /// <summary>The events ended (the body, or <c>[DONE]</c>): complete when every choice finished or <c>[DONE]</c> came, else a break.</summary>
    private void EndOfEvents()
    {
        if (_verifier is not null && _verifier.EndedShort())
        {
            throw Diverged();
        }

        if (!_done && !_choices.AllFinished)
        {
            throw new OpenAIStreamProtocolException(
                $"The stream ended after {Events!.EventCount} events without [DONE] and before every choice had a finish reason ({_choices.Progress}): the answer is truncated.",
                Events.EventCount,
                isRetryable: true,
                statusCode: StatusCode,
                requestId: RequestId);
        }

        Complete();
    }

    private void Complete()
    {
        Out.Write(Done);
        Ended = true;
        Call.ReportReaderEnd(error: null);
    }

    /// <summary>Passes an event on: whole while nothing was replayed; after a replay, only what the verifier lets through.</summary>
    private void Forward(in ServerSentEvent current)
    {
        List<ChatCompletionUpdate> updates = _decoder.Updates;
        if (_verifier is null)
        {
            foreach (ChatCompletionUpdate update in updates)
            {
                Deliver(update);
            }

            WriteEvent(current, replaceId: _continuedId);
            return;
        }

        _emits.Clear();
        bool whole = true;
        foreach (ChatCompletionUpdate update in updates)
        {
            switch (_verifier.Process(update, out ChatCompletionUpdate emit))
            {
                case ReplayStep.Diverged:
                    throw Diverged();
                case ReplayStep.Skip:
                    whole = false;
                    break;
                default:
                    whole &= SameUpdate(update, emit);
                    _emits.Add(emit);
                    break;
            }
        }

        foreach (ChatCompletionUpdate emit in _emits)
        {
            Deliver(emit);
        }

        if (whole && _emits.Count > 0)
        {
            WriteEvent(current, replaceId: _ledger.ResponseId);
            return;
        }

        foreach (ChatCompletionUpdate emit in _emits)
        {
            WriteChunk(emit);
        }
    }

    private void Deliver(in ChatCompletionUpdate update)
    {
        _choices.Observe(update.ChoiceIndex, update.FinishReason is not null);
        _ledger.Record(update);
    }

    private static bool SameUpdate(in ChatCompletionUpdate update, in ChatCompletionUpdate emit) =>
        ReferenceEquals(update.Text, emit.Text)
        && ReferenceEquals(update.Refusal, emit.Refusal)
        && ReferenceEquals(update.Role, emit.Role)
        && ReferenceEquals(update.FinishReason, emit.FinishReason)
        && ReferenceEquals(update.ToolCalls, emit.ToolCalls);

    private OpenAIStreamDivergedException Diverged()
    {
        Call.Metrics?.Recovery("diverged");
        return new OpenAIStreamDivergedException(
            $"The stream broke and was sent again, but the new answer differs from the one delivered ({_verifier!.Divergence ?? "it ended before it reached the delivered text"}).",
            _ledger.Snapshot(Call.Route),
            RequestId,
            _break,
            _ledger.PartialResult());
    }

    private async ValueTask OnFailureAsync(Exception failure, CancellationToken cancellationToken)
    {
        if (BrokenBody.Is(failure) && _choices.AllFinished && _verifier is null)
        {
            Complete(); // every choice finished: only [DONE] (and perhaps the usage chunk) was lost
            return;
        }

        if (Call.CanRecover && RecoveryRules.IsRecoverable(failure))
        {
            _break ??= failure;
            ReplayedBody replay;
            try
            {
                replay = await Call.ReplayAsync(cancellationToken, Call.CanContinue ? _ledger.ContinuationText() : null).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Call.Metrics?.Recovery("failed");
                Fail(failure);
                return;
            }

            Call.Metrics?.Recovery("replayed");
            await ReadFromAsync(replay).ConfigureAwait(false);
            _decoder.Dispose();
            _decoder = new ChatChunkDecoder();
            _done = false;
            if (replay.IsContinuation)
            {
                _verifier = null; // it streams only what follows the delivered text
                _continuedId = _ledger.ResponseId;
            }
            else
            {
                _verifier = new ReplayVerifier(_ledger, maxBufferedChars: 0);
            }

            return;
        }

        Fail(failure);
    }

    /// <summary>Ends the stream with an error event, and makes the next read throw the typed error.</summary>
    private void Fail(Exception failure)
    {
        Exception error = failure;
        if (BrokenBody.Is(failure) && failure is not OpenAIStreamException { IsBrokenBody: false })
        {
            var typed = failure as OpenAIStreamException;
            error = BrokenBody.AfterEvents(
                failure,
                Events?.EventCount ?? 0,
                $"before [DONE] and before every choice had a finish reason ({_choices.Progress}): the answer is truncated",
                typed?.StatusCode ?? StatusCode,
                RequestId ?? typed?.RequestId);
        }

        WriteError(error);
        Failure = error;
        Call.ReportReaderEnd(error);
    }

    private void WriteEvent(in ServerSentEvent current, string? replaceId) => EventOutput.WriteEvent(Out, current, replaceId);

    /// <summary>Writes one update as a chat completion chunk of the first response: for an update the replay had to trim.</summary>
    private void WriteChunk(in ChatCompletionUpdate update)
    {
        Out.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(Out))
        {
            json.WriteStartObject();
            json.WriteString("id", _ledger.ResponseId ?? update.Id);
            json.WriteString("object", "chat.completion.chunk");
            json.WriteNumber("created", update.Created);
            json.WriteString("model", update.Model);
            if (update.SystemFingerprint is not null)
            {
                json.WriteString("system_fingerprint", update.SystemFingerprint);
            }

            json.WriteStartArray("choices");
            if (update.ChoiceIndex >= 0)
            {
                WriteChoice(json, update);
            }

            json.WriteEndArray();
            if (update.Usage is { } usage)
            {
                json.WritePropertyName("usage");
                json.WriteRawValue(usage.Json, skipInputValidation: true);
            }

            json.WriteEndObject();
        }

        Out.Write("\n\n"u8);
    }

    private static void WriteChoice(Utf8JsonWriter json, in ChatCompletionUpdate update)
    {
        json.WriteStartObject();
        json.WriteNumber("index", update.ChoiceIndex);
        json.WriteStartObject("delta");
        if (update.Role is not null)
        {
            json.WriteString("role", update.Role);
        }

        if (update.Text is not null)
        {
            json.WriteString("content", update.Text);
        }

        if (update.Refusal is not null)
        {
            json.WriteString("refusal", update.Refusal);
        }

        if (update.ToolCalls.Count > 0)
        {
            json.WriteStartArray("tool_calls");
            for (int i = 0, count = update.ToolCalls.Count; i < count; i++) // indexed: an interface foreach allocates an enumerator per update
            {
                ChatToolCallUpdate call = update.ToolCalls[i];
                json.WriteStartObject();
                json.WriteNumber("index", call.Index);
                if (call.Id is not null)
                {
                    json.WriteString("id", call.Id);
                }

                if (call.Type is not null)
                {
                    json.WriteString("type", call.Type);
                }

                json.WriteStartObject("function");
                if (call.FunctionName is not null)
                {
                    json.WriteString("name", call.FunctionName);
                }

                json.WriteString("arguments", call.ArgumentsDelta ?? string.Empty);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
        json.WriteNull("logprobs");
        if (update.FinishReason is not null)
        {
            json.WriteString("finish_reason", update.FinishReason);
        }
        else
        {
            json.WriteNull("finish_reason");
        }

        json.WriteEndObject();
    }

    /// <summary>The error event that ends a stream that could not be completed, in the shape OpenAI sends mid-stream.</summary>
    private void WriteError(Exception error)
    {
        string code = EventOutput.ErrorCode(error);
        Out.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(Out))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", error.Message);
            json.WriteString("type", EventOutput.ErrorType(error));
            json.WriteNull("param");
            json.WriteString("code", code);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        Out.Write("\n\n"u8);
    }
}
