using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// Sends through the caller's <see cref="HttpClient"/> with the reader-level protections of
/// <see cref="OpenAIStreamingClient"/>, built from the handler's parts: the first-token timeout bounds sending and the wait
/// for the first complete event (<see cref="FirstEventPrefetch"/>); then <see cref="CallContent"/> serves the body
/// (the prefetched bytes, then the live body with the idle timeout on every read), and the total timeout runs until the
/// response is disposed. One attempt: nothing is retried.
/// </summary>
internal sealed class ProtectedStreamSender : StreamSender
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
        RequestSettings settings = RequestSettings.For(_options, request.Options);

        // Created before the first-token source: when both fall due at once, the total timeout fires first and is reported.
        var totalCts = new CancellationTokenSource(settings.TotalTimeout, _timeProvider);
        HttpResponseMessage? response = null;
        FirstEventPrefetch? prefetch = null;
        bool handedOver = false;
        try
        {
            using (var firstTokenCts = new CancellationTokenSource(settings.FirstTokenTimeout, _timeProvider))
            using (var sendCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, totalCts.Token, firstTokenCts.Token))
            {
                try
                {
                    Uri? sent = request.RequestUri;
                    response = await HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, sendCts.Token).ConfigureAwait(false);
                    StreamingResponse.ThrowIfRedirectedAway(sent, response);
                    if (response.IsSuccessStatusCode && !StreamingResponse.IsJson(response.Content.Headers.ContentType))
                    {
                        prefetch = await FirstEventPrefetch.ReadAsync(response, sendCts.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OpenAIStreamException && (sendCts.IsCancellationRequested || cancellationToken.IsCancellationRequested))
                {
                    string? requestId = response is null ? null : StreamingResponse.RequestIdOf(response);
                    throw Interruption(ex, totalCts, settings.TotalTimeout, requestId, cancellationToken)
                        ?? new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.FirstToken, settings.FirstTokenTimeout, requestId, ex);
                }
            }

            CallContent.Install(response, prefetch, response.IsSuccessStatusCode, settings, totalCts, _timeProvider, _options);
            handedOver = true;
            return response;
        }
        finally
        {
            if (!handedOver)
            {
                prefetch?.Source.Dispose();
                response?.Dispose();
                totalCts.Dispose();
            }
        }
    }

    /// <summary>Runs <paramref name="operation"/> under the total timeout (used for warming up connections).</summary>
    public async Task RunWithinTotalTimeoutAsync(Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        using var totalCts = new CancellationTokenSource(_options.TotalTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, totalCts.Token);
        try
        {
            await operation(linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OpenAIStreamException && (cancellationToken.IsCancellationRequested || totalCts.IsCancellationRequested))
        {
            throw Interruption(ex, totalCts, _options.TotalTimeout, requestId: null, cancellationToken)!;
        }
    }

    /// <summary>
    /// The error to report for a failure that happened while one of the tokens had fired: the caller's cancellation stays an
    /// <see cref="OperationCanceledException"/> on the caller's token; the total timeout is an
    /// <see cref="OpenAIStreamTimeoutException"/>; null when neither of them fired.
    /// </summary>
    private static Exception? Interruption(Exception exception, CancellationTokenSource totalCts, TimeSpan totalTimeout, string? requestId, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested)
        {
            return new OperationCanceledException("The request was cancelled by the caller.", exception, callerToken);
        }

        return totalCts.IsCancellationRequested
            ? new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Total, totalTimeout, requestId, exception)
            : null;
    }
}
