using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// Sends through the caller's <see cref="HttpClient"/> with the reader-level protections of
/// <see cref="OpenAIStreamingClient"/>, on a <see cref="CallContext"/> like the handler's: the first-token timeout bounds
/// sending and the wait for the first content (<see cref="FirstContentPrefetch"/>); then <see cref="CallContent"/> serves the
/// body (the prefetched events, then the live body with the idle timeout on every read), and the total timeout runs until
/// the response is disposed. One attempt: nothing is retried, so a first-token miss fails the call.
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
        var call = new CallContext(RequestSettings.For(_options, request.Options), _timeProvider, metrics: null, clientRequestId: null, cancellationToken);
        HttpResponseMessage? response = null;
        FirstContentPrefetch? prefetch = null;
        bool handedOver = false;
        try
        {
            using (var firstToken = new CancellationTokenSource(call.Settings.FirstTokenTimeout, _timeProvider))
            using (var send = CancellationTokenSource.CreateLinkedTokenSource(call.Token, firstToken.Token))
            {
                try
                {
                    Uri? sent = request.RequestUri;
                    response = await HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, send.Token).ConfigureAwait(false);
                    StreamingResponse.ThrowIfRedirectedAway(sent, response);
                    if (response.IsSuccessStatusCode && !StreamingResponse.IsJson(response.Content.Headers.ContentType))
                    {
                        prefetch = await FirstContentPrefetch.ReadAsync(response, _options.MaxEventSize, send.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OpenAIStreamException && send.IsCancellationRequested)
                {
                    string? requestId = response is null ? null : StreamingResponse.RequestIdOf(response);
                    throw call.Interruption(ex, requestId) ?? call.Timeout(OpenAIStreamTimeoutKind.FirstToken, call.Settings.FirstTokenTimeout, requestId, ex);
                }
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
