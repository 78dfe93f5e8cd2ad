using System.Runtime.ExceptionServices;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Recovery.Internal;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;
using System.Runtime.CompilerServices;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// Reads a Responses stream event by event; throws a typed error for a stream that breaks off or ends before its terminal
/// event. Through the handler (or <see cref="OpenAIStreamingClient"/>) with recovery on, a stream that breaks after its
/// first content is recovered: a background response is streamed again from the event after the last one delivered (by
/// its sequence number; nothing is generated again); any other — or a background one the server no longer has — is sent
/// again, and the regenerated answer is checked against what was delivered (per output item, its text, refusal and
/// function arguments, by length and hash): what was delivered is skipped, and the rest goes on under the first response's
/// id and item ids. A replay that differs fails with <see cref="OpenAIStreamDivergedException"/>, whatever the divergence
/// policy: a Responses event cannot say "start over".
/// </summary>
internal sealed class ResponsesCursor(SseEventReader events, HttpResponseMessage response, string? requestId, CallContext? call) : IAsyncDisposable
{
    private readonly ResponseEventDecoder _decoder = new();
    private readonly ResponsesDelivery? _delivery = call?.Recovery is null ? null : new ResponsesDelivery(keepText: call.Recovery.OnDivergence == OpenAIStreamingDivergencePolicy.Fail);
    private SseEventReader _events = events;
    private string? _requestId = requestId;
    private ResponsesPosition _live; // the response being read (a replay's own, after one): what a resume asks for
    private Exception? _break;
    private bool _terminal;

    /// <summary>The next event, or null when the stream ended with its terminal event.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ResponseStreamEvent?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ResponseStreamEvent? next;
            try
            {
                next = await NextCoreAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (MayRecover(ex, cancellationToken))
            {
                await RecoverAsync(ex, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (next is not { } responseEvent)
            {
                return null;
            }

            if (_live.ReadBefore(responseEvent))
            {
                continue; // read before the break
            }

            _live.Read(responseEvent);
            if (_delivery is null)
            {
                return responseEvent;
            }

            if (_delivery.Replaying)
            {
                switch (_delivery.Replayed(responseEvent, out string? delta))
                {
                    case ReplayStep.Skip:
                        continue; // regenerated, and delivered before the break
                    case ReplayStep.Diverged:
                        throw Diverged();
                    default:
                        responseEvent = responseEvent.WithIdentity(
                            responseEvent.ResponseId is null ? null : _delivery.ResponseId,
                            _delivery.ItemId(responseEvent.OutputIndex) ?? responseEvent.ItemId,
                            delta ?? responseEvent.Delta);
                        break;
                }
            }

            if (_delivery.Delivered(responseEvent, responseEvent.Delta) ? CheckpointDue() : responseEvent.IsTerminal)
            {
                return responseEvent.WithCheckpoint(_delivery.Ledger.Snapshot(call!.Route, sequenceNumber: _delivery.LastSequence));
            }

            return responseEvent;
        }
    }

    private bool CheckpointDue() => _delivery!.Ledger.ContentUpdates % call!.Recovery!.CheckpointInterval == 0;

    public ValueTask DisposeAsync() => _events.DisposeAsync();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ResponseStreamEvent?> NextCoreAsync(CancellationToken cancellationToken)
    {
        while (!_terminal && await TypedStreamReader.NextEventAsync(_events, response, _requestId, cancellationToken).ConfigureAwait(false))
        {
            cancellationToken.ThrowIfCancellationRequested();
            ReadOnlyMemory<byte> data = _events.Current.Data;
            if (TypedStreamReader.IsBlank(data.Span))
            {
                continue;
            }

            if (ChatChunkDecoder.IsDone(data.Span))
            {
                break;
            }

            ResponseStreamEvent responseEvent = _decoder.Decode(data.Span, _events.Current.EventType, _events.CurrentIndex, _requestId);
            _terminal = responseEvent.IsTerminal;
            return responseEvent;
        }

        if (!_terminal)
        {
            throw TypedStreamReader.Truncated(_events, response, _requestId, "without a terminal event (response.completed or response.incomplete)");
        }

        return null;
    }

    private bool MayRecover(Exception failure, CancellationToken cancellationToken) =>
        call is { CanRecover: true }
        && _delivery is not null
        && !_terminal
        && !cancellationToken.IsCancellationRequested
        && RecoveryRules.IsRecoverable(failure);

    /// <summary>
    /// Resumes a background response after the last event delivered, or — not a background one, or no longer stored — sends
    /// the request again; when neither brings an answer, the break is what the caller sees.
    /// </summary>
    private async ValueTask RecoverAsync(Exception failure, CancellationToken cancellationToken)
    {
        _break ??= failure;
        if (await _delivery!.RecoverAsync(call!, _live.ResponseId, _live.Sequence, failure, cancellationToken).ConfigureAwait(false) is not var (body, resumed))
        {
            ExceptionDispatchInfo.Throw(failure);
            return;
        }

        await ReadFromAsync(body).ConfigureAwait(false);
        _live.Recovered(resumed);
    }

    private async ValueTask ReadFromAsync(ReplayedBody body)
    {
        SseEventReader old = _events;
        _events = new SseEventReader(PipeReaders.Create(body.Remainder, leaveOpen: false), options: null, body.RequestId, body.Events);
        await old.DisposeAsync().ConfigureAwait(false);
        _requestId = body.RequestId ?? _requestId;
        _terminal = false;
    }

    private OpenAIStreamDivergedException Diverged()
    {
        call!.Metrics?.Recovery("diverged");
        return RecoveryRules.Diverged(_delivery!, call.Route, _requestId, _break);
    }
}
