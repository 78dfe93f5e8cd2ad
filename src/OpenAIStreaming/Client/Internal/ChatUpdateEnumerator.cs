using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Recovery.Internal;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// One enumeration of a chat stream: sends the request on the first <see cref="MoveNextAsync"/>, then hands out the
/// updates. Owns the response: it is released on every exit (end, <see cref="DisposeAsync"/>, exception, cancellation).
/// A stream ends either complete (<c>[DONE]</c>, or every choice finished) or with a typed error, never silently truncated.
/// Through the handler with recovery on, a stream that breaks after its first content is replayed and checked against what
/// was delivered (<see cref="DeliveryLedger"/>, <see cref="ReplayVerifier"/>), and goes on where it broke.
/// </summary>
/// <remarks>
/// Written by hand rather than as an async iterator: while the current buffer segment holds a chunk with the previous
/// chunk's shape, <see cref="MoveNextAsync"/> frames and decodes it in one pass and completes synchronously without a
/// state machine step. Everything else (the request, reads, other chunks, several updates per chunk, the end) takes the
/// general path, <see cref="MoveNextSlowAsync"/>, which does what the async iterator did.
/// </remarks>
internal sealed class ChatUpdateEnumerator : IAsyncEnumerator<ChatCompletionUpdate>
{
    private readonly ChatUpdateStream _stream;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenSource? _linkedSource;
    private const long MaxRestartChars = 4 * 1024 * 1024; // a replayed answer kept for a restart, beyond what was delivered

    private HttpRequestMessage? _request;
    private HttpResponseMessage? _response;
    private string? _requestId;
    private CallContext? _call;
    private SseEventReader? _events;
    private ChatChunkDecoder? _decoder;
    private ChoiceFinishTracker _choices = new();
    private DeliveryLedger? _ledger; // what was delivered, when the call can recover a broken stream
    private List<OpenAIStreamAttempt>? _attempts; // the attempts before the current one, once the stream was recovered
    private long _attemptContent; // the updates with content the current attempt streamed (also those a replay skipped)
    private OpenAIUsage? _attemptUsage;
    private StructuredOutputCheck? _structured; // the JSON of tool-call arguments (and of the content, when asked for), once one appears
    private ReplayVerifier? _verifier; // while the stream is a replay: checks it against the ledger
    private Queue<ChatCompletionUpdate>? _queued; // a restart and the new answer from its beginning
    private OpenAIStreamCheckpoint? _framedCheckpoint;
    private Exception? _break; // the first break of the stream, the cause of every recovery
    private (long EventIndex, ulong DataHash)? _malformed; // the malformed event that broke the stream
    private bool _endAfterQueue;
    private ChatCompletionUpdate _current;
    private string? _framedText;
    private int _nextUpdate;
    private bool _fastPathReady;
    private bool _done;
    private bool _finished;

    public ChatUpdateEnumerator(ChatUpdateStream stream, CancellationToken enumeratorToken)
    {
        _stream = stream;
        CancellationToken streamToken = stream.CancellationToken;

        // The tokens of the call and of GetAsyncEnumerator combine as an async iterator's [EnumeratorCancellation] does.
        if (!enumeratorToken.CanBeCanceled || enumeratorToken.Equals(streamToken))
        {
            _cancellationToken = streamToken;
        }
        else if (!streamToken.CanBeCanceled)
        {
            _cancellationToken = enumeratorToken;
        }
        else
        {
            _linkedSource = CancellationTokenSource.CreateLinkedTokenSource(streamToken, enumeratorToken);
            _cancellationToken = _linkedSource.Token;
        }
    }

    /// <summary>
    /// Gets the current update. After the fast path only its text is stored (<see cref="_framedText"/>): the update is the
    /// decoder's template update with that text, built here, so the fast path copies no update struct.
    /// </summary>
    public ChatCompletionUpdate Current => _framedText is { } text ? Framed(text) : _current;

    public ValueTask<bool> MoveNextAsync()
    {
        if (_fastPathReady)
        {
            SseEventReader events = _events!;
            try
            {
                if (TryDecodeDataLine(events, _decoder!, out string? text))
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    YieldDecoded(text);
                    return new ValueTask<bool>(true);
                }
            }
            catch (Exception ex)
            {
                return _ledger is null ? FailAsync(ex) : MoveNextSlowAsync(triedFramed: true, broken: ex);
            }

            try
            {
                // The next event has not fully arrived: when the stream has more bytes at once (a live stream read as it
                // comes), take them and try again, still without a state machine step.
                while (events.TryReadMoreAtOnce(_cancellationToken) == MoreBytes.Read)
                {
                    if (TryDecodeDataLine(events, _decoder!, out string? text))
                    {
                        _cancellationToken.ThrowIfCancellationRequested();
                        YieldDecoded(text);
                        return new ValueTask<bool>(true);
                    }
                }
            }
            catch (Exception ex)
            {
                return ex is OpenAIStreamProtocolException && _ledger is null ? FailAsync(ex) : MoveNextSlowAsync(triedFramed: true, broken: ex);
            }

            return MoveNextSlowAsync(triedFramed: true);
        }

        return MoveNextSlowAsync(triedFramed: false);
    }

    public ValueTask DisposeAsync()
    {
        if (_finished)
        {
            return default;
        }

        return CloseAsync();
    }

    /// <summary>
    /// The fused fast path: the next event, framed and decoded in one pass when it is a chunk of the previous chunk's shape.
    /// Its update shares the previous chunk's choice index and finish reason, which <see cref="_choices"/> has already seen.
    /// </summary>
    private static bool TryDecodeDataLine(SseEventReader events, ChatChunkDecoder decoder, [NotNullWhen(true)] out string? text)
    {
        if (events.TryPeekDataLine(out ReadOnlySpan<byte> rest) && decoder.TryDecodeLine(rest, events.DataLineTerminator, out text, out int length))
        {
            events.ConsumeDataLine(length);
            return true;
        }

        text = null;
        return false;
    }

    private void Yield(in ChatCompletionUpdate update)
    {
        if (_structured is null && update.ToolCalls.Count > 0)
        {
            _structured = new StructuredOutputCheck(contentIsJson: false);
        }

        _structured?.Observe(update, _events?.CurrentIndex ?? 0, _requestId); // before the finish counts: a choice whose JSON ended invalid is an error, not complete
        _choices.Observe(update.ChoiceIndex, update.FinishReason is not null);
        _framedText = null;
        _current = update;
        _attemptUsage = update.Usage ?? _attemptUsage;
        if (_ledger is null)
        {
            return;
        }

        if (_ledger.Record(update) ? CheckpointDue(update.FinishReason is not null) : update.Usage is not null && _attempts is not null)
        {
            _current = update.WithCheckpoint(Snapshot()); // a recovered stream's usage chunk says what every attempt cost
        }
    }

    /// <summary>A checkpoint of what was delivered, with the attempts that streamed it when the stream was recovered.</summary>
    private OpenAIStreamCheckpoint Snapshot()
    {
        if (_attempts is null)
        {
            return _ledger!.Snapshot(_call!.Route);
        }

        List<OpenAIStreamAttempt> attempts = [.. _attempts, new OpenAIStreamAttempt(_attempts.Count + 1, _requestId, _call!.Route, _attemptContent, _attemptUsage)];
        return _ledger!.Snapshot(_call.Route, attempts);
    }

    /// <summary>
    /// Yields a chunk decoded on the fused path: content is stored as its text alone (<see cref="YieldFramed"/>); a tool
    /// call's arguments make an update of their own, yielded as any other.
    /// </summary>
    private void YieldDecoded(string text)
    {
        if (_decoder!.FramesArguments)
        {
            _attemptContent++; // an update with a tool call, counted as the general path counts it
            Yield(_decoder.FramedUpdate(text));
        }
        else
        {
            YieldFramed(text);
        }
    }

    private void YieldFramed(string text)
    {
        if (_structured is { ChecksContent: true } structured)
        {
            structured.Text(_decoder!.FramedUpdate(text).ChoiceIndex, text);
        }

        _framedText = text;
        _framedCheckpoint = null;
        _attemptContent++;
        if (_ledger is not null && _ledger.Record(_decoder!.FramedUpdate(text)) && CheckpointDue(finished: false))
        {
            _framedCheckpoint = Snapshot();
        }
    }

    private ChatCompletionUpdate Framed(string text)
    {
        ChatCompletionUpdate update = _decoder!.FramedUpdate(text);
        return _framedCheckpoint is { } checkpoint ? update.WithCheckpoint(checkpoint) : update;
    }

    private bool CheckpointDue(bool finished) => finished || _ledger!.ContentUpdates % _call!.Recovery!.CheckpointInterval == 0;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> MoveNextSlowAsync(bool triedFramed, Exception? broken = null)
    {
        if (_finished)
        {
            return false;
        }

        _fastPathReady = false;
        bool tryFramed = !triedFramed; // MoveNextAsync may just have found that the next event is not for the fast path
        while (true)
        {
            Exception? failure = broken;
            broken = null;
            if (failure is null)
            {
                try
                {
                    if (await NextAsync(tryFramed).ConfigureAwait(false))
                    {
                        return true;
                    }
                }
                catch (Exception ex)
                {
                    failure = ex;
                }
            }

            tryFramed = true;
            if (failure is null)
            {
                _call?.ReportReaderEnd(error: null);
                await CloseAsync().ConfigureAwait(false);
                return false;
            }

            if (!Completed(failure) && Recoverable(failure) && await TryRecoverAsync(failure).ConfigureAwait(false))
            {
                continue; // the replay takes over where the stream broke
            }

            return await EndAsync(failure).ConfigureAwait(false);
        }
    }

    /// <summary>Whether a server refused the request because of <c>stream_options</c> (a 400 or 422 that names it).</summary>
    private static bool RefusesStreamOptions(OpenAIStreamException error) =>
        error.StatusCode is 400 or 422
        && (string.Equals(error.Param, "stream_options", StringComparison.Ordinal) || error.Message.Contains("stream_options", StringComparison.Ordinal));

    /// <summary>Moves to the next update of the stream (queued, decoded, or framed); false at its end.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> NextAsync(bool tryFramed)
    {
        if (_events is null)
        {
            _request = _stream.CreateRequest();
            try
            {
                (_response, _events, _requestId, _call) = await StreamingResponse.OpenAsync(_stream.Sender, _request, _cancellationToken).ConfigureAwait(false);
            }
            catch (OpenAIStreamException refused) when (_stream.CreateRequestAsAsked is { } asAsked && RefusesStreamOptions(refused))
            {
                // The usage this reader asks for is refused: the request goes as the caller wrote it, without the usage.
                if (_stream.DisposeRequest)
                {
                    _request.Dispose();
                }

                _request = asAsked();
                (_response, _events, _requestId, _call) = await StreamingResponse.OpenAsync(_stream.Sender, _request, _cancellationToken).ConfigureAwait(false);
            }

            _decoder = new ChatChunkDecoder();
            _structured = _stream.ContentIsJson ? new StructuredOutputCheck(contentIsJson: true) : null;
            if (_call?.Recovery is not null)
            {
                // Fail hands over what was delivered, and a continuation sends it back as the prefill: only then is it kept.
                _ledger = new DeliveryLedger(keepText: _call.Recovery.OnDivergence == OpenAIStreamingDivergencePolicy.Fail || _call.CanContinue);
            }
        }

        while (true)
        {
            if (_queued is { Count: > 0 })
            {
                Yield(_queued.Dequeue());
                return true;
            }

            if (_endAfterQueue)
            {
                return false;
            }

            SseEventReader events = _events!;
            ChatChunkDecoder decoder = _decoder!;
            List<ChatCompletionUpdate> updates = decoder.Updates;
            while (_nextUpdate < updates.Count)
            {
                ChatCompletionUpdate update = updates[_nextUpdate++];
                if (update.Text is { Length: > 0 } || update.Refusal is { Length: > 0 } || update.ToolCalls.Count > 0 || update.FinishReason is not null)
                {
                    _attemptContent++;
                }

                if (_verifier is not null)
                {
                    ReplayStep step = _verifier.Process(update, out ChatCompletionUpdate emit);
                    if (step == ReplayStep.Skip)
                    {
                        continue;
                    }

                    if (step == ReplayStep.Diverged)
                    {
                        Diverged(endsAfter: false);
                        break;
                    }

                    update = emit;
                }

                Yield(update);
                _fastPathReady = _verifier is null && _nextUpdate == updates.Count;
                return true;
            }

            if (_queued is { Count: > 0 })
            {
                continue;
            }

            if ((tryFramed || events.HasPendingRead) && _verifier is null)
            {
                if (TryDecodeDataLine(events, decoder, out string? framed))
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    YieldDecoded(framed);
                    _fastPathReady = true;
                    return true;
                }

                // The next event has not fully arrived: wait for more bytes and try the fused path again, rather than
                // framing it apart once it has (a live stream's every event comes after a read that waited).
                if (await events.ReadMoreAsync(_cancellationToken).ConfigureAwait(false))
                {
                    tryFramed = true; // the bytes that came are for the fused path first
                    continue;
                }
            }

            tryFramed = true;

            if (!await events.MoveNextAsync(_cancellationToken).ConfigureAwait(false))
            {
                break;
            }

            _cancellationToken.ThrowIfCancellationRequested();
            ReadOnlySpan<byte> data = events.Current.Data.Span;
            if (TypedStreamReader.IsBlank(data))
            {
                continue; // an empty keep-alive event
            }

            _nextUpdate = 0;
            if (Decode(decoder, events, data) == ChatChunkKind.Done)
            {
                _done = true;
                break;
            }
        }

        if (_verifier is not null && _verifier.EndedShort())
        {
            Diverged(endsAfter: true);
            return await NextAsync(tryFramed: false).ConfigureAwait(false);
        }

        if (!_done && !_choices.AllFinished)
        {
            throw TypedStreamReader.Truncated(_events!, _response!, _requestId, "without [DONE] and before every choice had a finish reason");
        }

        return false;
    }

    /// <summary>
    /// Decodes one event. During a replay, an event that is malformed exactly as the one that broke the stream (the same
    /// bytes at the same place, apart from the response's id, time and padding, and the text before it verified) and that
    /// holds no content is what this answer holds at that place on every try: it is skipped and counted, and the stream
    /// goes on. One that holds content stays a break: skipping it would lose what it holds.
    /// </summary>
    private ChatChunkKind Decode(ChatChunkDecoder decoder, SseEventReader events, ReadOnlySpan<byte> data)
    {
        try
        {
            return decoder.Decode(data, events.CurrentIndex, _requestId);
        }
        catch (OpenAIStreamProtocolException) when (_ledger is not null)
        {
            (long, ulong) malformed = RecoveryRules.MalformedIdentity(events.CurrentIndex, data);
            if (_verifier is not null && _malformed == malformed && _verifier.CaughtUp && RecoveryRules.CarriesNothing(data))
            {
                _call?.Metrics?.Recovery("malformed_event_skipped");
                return ChatChunkKind.Chunk; // no updates: the same malformed event again, already accounted for
            }

            _malformed = malformed;
            throw;
        }
    }

    /// <summary>The replayed answer is not the one delivered: fail, or start over with the new answer from its beginning.</summary>
    private void Diverged(bool endsAfter)
    {
        ReplayVerifier verifier = _verifier!;
        OpenAIStreamCheckpoint delivered = Snapshot();
        if (_call!.Recovery!.OnDivergence == OpenAIStreamingDivergencePolicy.Fail || !verifier.KeptEverything)
        {
            _call.Metrics?.Recovery("diverged");
            throw new OpenAIStreamDivergedException(
                $"The stream broke and was sent again, but the new answer differs from the one delivered ({verifier.Divergence}).",
                delivered,
                _requestId,
                _break,
                _ledger!.PartialResult());
        }

        _call.Metrics?.Recovery("restarted");
        _verifier = null;
        _ledger!.Clear();
        _choices = new ChoiceFinishTracker();
        _queued = new Queue<ChatCompletionUpdate>(verifier.Consumed.Count + 1);
        _queued.Enqueue(ChatCompletionUpdate.Restart(delivered));
        foreach (ChatCompletionUpdate update in verifier.Consumed)
        {
            _queued.Enqueue(update);
        }

        _endAfterQueue = endsAfter;
    }

    /// <summary>A stream whose every choice already finished is complete: only <c>[DONE]</c> was lost.</summary>
    private bool Completed(Exception failure) =>
        BrokenBody.Is(failure) && !_cancellationToken.IsCancellationRequested && _choices.AllFinished && _verifier is null;

    /// <summary>Whether a failure is a break a replay can heal now.</summary>
    private bool Recoverable(Exception failure) =>
        _ledger is not null && _call!.CanRecover && !_cancellationToken.IsCancellationRequested && RecoveryRules.IsRecoverable(failure);

    /// <summary>Sends the request again and reads on from the replay; false when no replay came.</summary>
    private async ValueTask<bool> TryRecoverAsync(Exception failure)
    {
        _break ??= failure;
        (_attempts ??= []).Add(new OpenAIStreamAttempt(_attempts.Count + 1, _requestId, _call!.Route, _attemptContent, _attemptUsage));
        _attemptContent = 0;
        _attemptUsage = null;
        ReplayedBody replay;
        try
        {
            replay = await _call!.ReplayAsync(_cancellationToken, _call.CanContinue ? _ledger!.ContinuationText() : null).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _call!.Metrics?.Recovery("failed");
            return false; // the break is what the caller sees
        }

        _call.Metrics?.Recovery("replayed");

        if (_events is { } old)
        {
            _events = null;
            await old.DisposeAsync().ConfigureAwait(false);
        }

        _events = new SseEventReader(PipeReaders.Create(replay.Remainder, leaveOpen: false), options: null, replay.RequestId, replay.Events);
        _requestId = replay.RequestId ?? _requestId;
        _decoder?.Dispose();
        _decoder = new ChatChunkDecoder();
        _nextUpdate = 0;
        _done = false;
        _verifier = replay.IsContinuation
            ? null // it streams only what follows the delivered text: nothing to check or skip
            : new ReplayVerifier(_ledger!, _ledger!.Snapshot(route: null).Choices.Sum(static c => c.Content.Chars + c.Refusal.Chars) + MaxRestartChars);
        return true;
    }

    /// <summary>Ends the enumeration with <paramref name="failure"/>, typed.</summary>
    private async ValueTask<bool> EndAsync(Exception failure)
    {
        long events = _events?.EventCount ?? (failure as OpenAIStreamException)?.EventIndex ?? 0;
        int? status = (int?)_response?.StatusCode;
        bool broken = BrokenBody.Is(failure) && !_cancellationToken.IsCancellationRequested;
        if (broken && _choices.AllFinished && _verifier is null)
        {
            _call?.ReportReaderEnd(error: null);
            await CloseAsync().ConfigureAwait(false);
            return false; // every choice finished: the answer is complete, only [DONE] (and perhaps the usage chunk) is missing
        }

        Exception error = failure;
        if (broken)
        {
            var typed = failure as OpenAIStreamException;
            error = BrokenBody.AfterEvents(
                failure,
                events,
                $"before [DONE] and before every choice had a finish reason ({_choices.Progress}): the answer is truncated",
                status ?? typed?.StatusCode,
                _requestId ?? typed?.RequestId);
        }

        _call?.ReportReaderEnd(error);
        await CloseAsync().ConfigureAwait(false);
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return false;
    }

    private async ValueTask<bool> FailAsync(Exception exception)
    {
        _call?.ReportReaderEnd(exception);
        await CloseAsync().ConfigureAwait(false);
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(exception);
        return false;
    }

    /// <summary>Releases the stream, the response and (when owned) the request; the enumeration is over.</summary>
    private async ValueTask CloseAsync()
    {
        _finished = true;
        _fastPathReady = false;
        try
        {
            _decoder?.Dispose(); // kept: Current may still build the last update from it
            if (_events is { } events)
            {
                _events = null;
                await events.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            TypedStreamReader.Release(_request, _response, _stream.DisposeRequest);
            _response = null;
            _request = null;
            _linkedSource?.Dispose();
        }
    }
}
