namespace OpenAIStreaming.Client.Internal;

/// <summary>
/// How a stream request reaches the server. This one sends it through the caller's <see cref="System.Net.Http.HttpClient"/>
/// as it is (headers first, body read as it arrives); <see cref="ProtectedStreamSender"/> adds the reader-level timeouts of
/// <see cref="OpenAIStreamingClient"/>.
/// </summary>
internal class StreamSender
{
    public StreamSender(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        HttpClient = httpClient;
    }

    /// <summary>Gets the caller's client: it resolves the endpoints (its base address) and sends.</summary>
    public HttpClient HttpClient { get; }

    /// <summary>Sends the request and returns as soon as the response headers have arrived. The caller owns the response.</summary>
    public virtual Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
}
