using OpenAIStreaming.Fallback.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// Sends through the caller's <see cref="HttpClient"/> with the reader-level protections of
/// <see cref="OpenAIStreamingClient"/>, on a <see cref="CallContext"/> like the handler's: the first-token timeout bounds
/// sending and the wait for the first content (<see cref="FirstContentPrefetch"/>); then <see cref="CallContent"/> serves the
/// body (the prefetched events, then the live body with the idle timeout on every read), and the total timeout runs until
/// the response is disposed. One attempt: nothing is retried before the commit point, so a first-token miss fails the call.
/// After it, a stream that breaks is recovered as through the handler (<see cref="OpenAIStreamingOptions.Recovery"/>): sent
/// again and checked against what was delivered, or — a background Responses stream — resumed where it broke.
/// </summary>
internal sealed class ProtectedStreamSender : StreamSender, IStreamRecovery
{
    private readonly OpenAIStreamingOptions _options;
    private readonly TimeProvider _timeProvider;

    /// <param name="httpClient">The caller's client; not owned.</param>
    /// <param name="options">Validated options that nobody else changes (a copy).</param>
    /// <param name="timeProvider">The clock of every timeout.</param>
    public ProtectedStreamSender(HttpClient httpClient, OpenAIStreamingOptions options, TimeProvider timeProvider)
        : base(httpClient)
    {
        _options = options;
        _timeProvider = timeProvider;
    }

    /// <summary>Gets the clock of every timeout.</summary>
    public TimeProvider TimeProvider => _timeProvider;

    public override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var call = new CallContext(RequestSettings.For(_options, request.Options), _timeProvider, metrics: null, clientRequestId: null, cancellationToken);
        HttpResponseMessage? response = null;
        FirstContentPrefetch? prefetch = null;
        bool handedOver = false;
        try
        {
            if (request.RequestUri is { IsAbsoluteUri: false } relative && HttpClient.BaseAddress is { } baseAddress)
            {
                request.RequestUri = new Uri(baseAddress, relative); // as HttpClient would: a recovery's request needs the address
            }

            // Buffered only when a recovery may send it again: otherwise it goes as it is, as before.
            RequestBodyBuffer.Result body = _options.Recovery.Enabled
                ? await BufferAsync(call, request).ConfigureAwait(false)
                : new RequestBodyBuffer.Result(IsReplayable: false, IsStream: false);
            var targets = new TargetChain(request, body.Body, body.Model, [], body.IsReplayable);
            (response, prefetch) = await SendToFirstContentAsync(call, request).ConfigureAwait(false);
            if (body.IsStream && body.IsReplayable && _options.Recovery.Enabled && response.IsSuccessStatusCode && prefetch is { Committed: true })
            {
                // The same recoveries as through the handler, without its retries, budget and fallbacks: the request is
                // sent again (and checked against what was delivered), or a background response is resumed.
                call.EnableRecovery(_options.Recovery, this, targets, target: 0, canResume: body.IsBackground);
            }

            CallContent.Install(response, prefetch, response.IsSuccessStatusCode, call, _options);
            handedOver = true;
            return response;
        }
        finally
        {
            if (!handedOver)
            {
                prefetch?.Source.Dispose();
                response?.Dispose();
                call.Dispose();
            }
        }
    }

    /// <summary>Buffers the request body so a recovery can send it again; a cancellation or the total timeout while it is read is typed.</summary>
    private async ValueTask<RequestBodyBuffer.Result> BufferAsync(CallContext call, HttpRequestMessage request)
    {
        try
        {
            return await RequestBodyBuffer.PrepareAsync(request, _options.MaxRequestBodyBytes, call.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OpenAIStreamException && call.IsCancelled)
        {
            throw call.Interruption(ex, requestId: null)!;
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> and reads its event stream up to the first content, within the first-token timeout:
    /// the response (any status) and, for a stream, what was read of it.
    /// </summary>
    private async Task<(HttpResponseMessage Response, FirstContentPrefetch? Prefetch)> SendToFirstContentAsync(CallContext call, HttpRequestMessage request)
    {
        HttpResponseMessage? response = null;
        using var firstToken = new CancellationTokenSource(call.Settings.FirstTokenTimeout, _timeProvider);
        using var send = CancellationTokenSource.CreateLinkedTokenSource(call.Token, firstToken.Token);
        try
        {
            Uri? sent = request.RequestUri;
            response = await HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, send.Token).ConfigureAwait(false);
            StreamingResponse.ThrowIfRedirectedAway(sent, response);
            FirstContentPrefetch? prefetch = null;
            if (response.IsSuccessStatusCode && !StreamingResponse.IsJson(response.Content))
            {
                prefetch = await FirstContentPrefetch.ReadAsync(response, _options.MaxEventSize, send.Token).ConfigureAwait(false);
            }

            return (response, prefetch);
        }
        catch (Exception ex)
        {
            string? requestId = response is null ? null : StreamingResponse.RequestIdOf(response);
            response?.Dispose();
            if (ex is not OpenAIStreamException && send.IsCancellationRequested)
            {
                throw call.Interruption(ex, requestId) ?? call.Timeout(OpenAIStreamTimeoutKind.FirstToken, call.Settings.FirstTokenTimeout, requestId, ex);
            }

            throw;
        }
    }

    /// <inheritdoc/>
    public ValueTask<ReplayedBody> ReplayAsync(CallContext call, string? delivered, CancellationToken cancellationToken) =>
        ReplayAsync(call, call.Targets!.CreateRequest(call.Targets[0], attempt: 2));

    /// <inheritdoc/>
    public ValueTask<ReplayedBody> ResumeAsync(CallContext call, string responseId, long after, CancellationToken cancellationToken) =>
        ReplayAsync(call, call.Targets!.CreateResumeRequest(call.Targets[0], responseId, after));

    /// <summary>
    /// A recovery's request (the original sent again, or the resume of a background response): its answer up to the first
    /// content and the rest of its body; a typed error when it brought none.
    /// </summary>
    private async ValueTask<ReplayedBody> ReplayAsync(CallContext call, HttpRequestMessage request)
    {
        call.Own(request);
        (HttpResponseMessage response, FirstContentPrefetch? prefetch) = await SendToFirstContentAsync(call, request).ConfigureAwait(false);
        string? requestId = StreamingResponse.RequestIdOf(response);
        if (!response.IsSuccessStatusCode || prefetch is not { Committed: true })
        {
            int status = (int)response.StatusCode;
            prefetch?.Source.Dispose();
            response.Dispose();
            throw new OpenAIStreamException($"The stream broke and could not be recovered: the recovery was answered with status {status} and no content.", status, errorType: null, errorCode: null, param: null, requestId, isRetryable: false);
        }

        return new ReplayedBody(response, prefetch.Events, CallBodyStream.Remainder(call, response, prefetch.Source, prefetch.Buffer, prefetch.CommittedLength, prefetch.Length, requestId, _options), requestId);
    }

    /// <summary>Runs <paramref name="operation"/> under the total timeout (used for warming up connections).</summary>
    public async Task RunWithinTotalTimeoutAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        using var call = new CallContext(RequestSettings.For(_options, new HttpRequestOptions()), _timeProvider, metrics: null, clientRequestId: null, cancellationToken);
        try
        {
            await operation(call.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OpenAIStreamException && call.IsCancelled)
        {
            throw call.Interruption(ex, requestId: null)!;
        }
    }
}
