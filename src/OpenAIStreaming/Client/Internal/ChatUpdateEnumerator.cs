using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// One enumeration of a chat stream: sends the request on the first <see cref="MoveNextAsync"/>, then hands out the
/// updates. Owns the response: it is released on every exit (end, <see cref="DisposeAsync"/>, exception, cancellation).
/// A stream ends either complete (<c>[DONE]</c>, or every choice finished) or with a typed error, never silently truncated.
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

    private HttpRequestMessage? _request;
    private HttpResponseMessage? _response;
    private string? _requestId;
    private CallContext? _call;
    private SseEventReader? _events;
    private ChatChunkDecoder? _decoder;
    private readonly ChoiceFinishTracker _choices = new();
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
    public ChatCompletionUpdate Current => _framedText is { } text ? _decoder!.FramedUpdate(text) : _current;

    public ValueTask<bool> MoveNextAsync()
    {
        if (_fastPathReady)
        {
            try
            {
                if (TryDecodeDataLine(_events!, _decoder!, out string? text))
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    _framedText = text;
                    return new ValueTask<bool>(true);
                }
            }
            catch (Exception ex)
            {
                return FailAsync(ex);
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
        if (events.TryPeekDataLine(out ReadOnlySpan<byte> rest) && decoder.TryDecodeLine(rest, SseEventReader.DataLineEnd, out text, out int length))
        {
            events.ConsumeDataLine(length);
            return true;
        }

        text = null;
        return false;
    }

    private void Yield(in ChatCompletionUpdate update)
    {
        _choices.Observe(update.ChoiceIndex, update.FinishReason is not null);
        _framedText = null;
        _current = update;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> MoveNextSlowAsync(bool triedFramed)
    {
        if (_finished)
        {
            return false;
        }

        _fastPathReady = false;
        try
        {
            if (_events is null)
            {
                _request = _stream.CreateRequest();
                (_response, _events, _requestId, _call) = await StreamingResponse.OpenAsync(_stream.Sender, _request, _cancellationToken).ConfigureAwait(false);
                _decoder = new ChatChunkDecoder();
            }

            SseEventReader events = _events;
            ChatChunkDecoder decoder = _decoder!;
            bool tryFramed = !triedFramed; // MoveNextAsync may just have found that the next event is not for the fast path
            while (true)
            {
                List<ChatCompletionUpdate> updates = decoder.Updates;
                if (_nextUpdate < updates.Count)
                {
                    Yield(updates[_nextUpdate++]);
                    _fastPathReady = _nextUpdate == updates.Count;
                    return true;
                }

                if (tryFramed && TryDecodeDataLine(events, decoder, out string? framed))
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    _framedText = framed;
                    _fastPathReady = true;
                    return true;
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
                if (decoder.Decode(data, events.CurrentIndex, _requestId) == ChatChunkKind.Done)
                {
                    _done = true;
                    break;
                }
            }

            if (!_done && !_choices.AllFinished)
            {
                throw TypedStreamReader.Truncated(events, _response!, _requestId, "without [DONE] and before every choice had a finish reason");
            }
        }
        catch (Exception ex)
        {
            long events = _events?.EventCount ?? (ex as OpenAIStreamException)?.EventIndex ?? 0;
            int? status = (int?)_response?.StatusCode;
            bool broken = BrokenBody.Is(ex) && !_cancellationToken.IsCancellationRequested;
            if (broken && _choices.AllFinished)
            {
                _call?.ReportReaderEnd(error: null);
                await CloseAsync().ConfigureAwait(false);
                return false; // every choice finished: the answer is complete, only [DONE] (and perhaps the usage chunk) is missing
            }

            Exception error = ex;
            if (broken)
            {
                var typed = ex as OpenAIStreamException;
                error = BrokenBody.AfterEvents(
                    ex,
                    events,
                    $"before [DONE] and before every choice had a finish reason ({_choices.Progress}): the answer is truncated",
                    status ?? typed?.StatusCode,
                    _requestId ?? typed?.RequestId);
            }

            _call?.ReportReaderEnd(error);
            await CloseAsync().ConfigureAwait(false);
            if (ReferenceEquals(error, ex))
            {
                throw;
            }

            throw error;
        }

        _call?.ReportReaderEnd(error: null);
        await CloseAsync().ConfigureAwait(false);
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
