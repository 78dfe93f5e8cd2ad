using System.Buffers;

namespace OpenAIStreaming;

/// <summary>
/// Opens pooled connections before the first request, so that request pays no connect or TLS cost (and, over HTTP/2, no
/// connection preface).
/// </summary>
/// <remarks>
/// <para>The warm-up sends <c>connections</c> concurrent <c>GET</c> requests through the client itself, so they take its
/// handlers, proxy, HTTP version and pool. Each request keeps its connection busy, by not reading its response body, until
/// every one of them has its response headers, so over HTTP/1.1 they cannot share a connection when the answers have a body
/// (the error answers of OpenAI and compatible servers do; an empty answer frees its connection at once, and the requests may
/// then share fewer connections); then each body is read to its end (up to 64 KiB) and the response disposed, which returns
/// the connection to the pool, idle and ready. A request that waits longer than 5 seconds for its turn (the pool allows fewer
/// connections than asked for, or an HTTP/2 server fewer streams) stops the others from holding: they are drained, and it
/// is served on a connection they free, so the warm-up never waits on itself. Any HTTP status counts: a 401 or 404
/// answer still means the connection (TCP, TLS, HTTP) is open. Over HTTP/2 the requests share one connection, which is all
/// an HTTP/2 client needs.</para>
/// <para>The requests carry the client's default headers, as every request it sends does, so they go only to the client's
/// own server: its base address, or a URI you name. Nothing is logged.</para>
/// <para><b>Bounded in time.</b> The whole warm-up takes at most 30 seconds: past that it fails with
/// <see cref="OpenAIStreamTimeoutException"/> (kind <see cref="OpenAIStreamTimeoutKind.Total"/>), so a server that accepts the
/// connection and never answers cannot hang a start-up. Reading an answer's body to free its connection takes at most
/// 2 seconds; a body that stalls longer is dropped with its connection, without failing the warm-up.</para>
/// <para>Connections stay warm as long as the pool keeps idle connections
/// (<see cref="SocketsHttpHandler.PooledConnectionIdleTimeout"/>, 90 seconds in the handler this library creates, 1 minute
/// by default).</para>
/// </remarks>
/// <example>
/// <code>
/// using var http = new HttpClient { BaseAddress = new Uri("https://api.openai.com/v1/") };
/// await http.WarmUpAsync(connections: 4, cancellationToken);   // at start-up, before the first user request
/// </code>
/// </example>
public static class OpenAIStreamingWarmUpExtensions
{
    private const int MaxDrainBytes = 64 * 1024;
    private const int DrainBufferSize = 4096;

    /// <summary>The longest an answered warm-up request keeps its connection busy waiting for the others to be answered.</summary>
    internal static readonly TimeSpan MaxHold = TimeSpan.FromSeconds(5);

    /// <summary>The longest a whole warm-up may take.</summary>
    internal static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    /// <summary>The longest reading an answer's body (to hand its connection back to the pool) may take.</summary>
    internal static readonly TimeSpan MaxDrain = TimeSpan.FromSeconds(2);

    /// <summary>Opens <paramref name="connections"/> pooled connections to the client's <see cref="HttpClient.BaseAddress"/>.</summary>
    /// <param name="httpClient">The client; its base address names the server.</param>
    /// <param name="connections">How many connections to open (at least 1). Over HTTP/2, one is enough.</param>
    /// <param name="cancellationToken">Cancels the warm-up.</param>
    /// <returns>A task that completes when every request has been answered (with any status) and its connection is idle in the pool.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="connections"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException">The client has no base address.</exception>
    /// <exception cref="HttpRequestException">
    /// A connection could not be opened; <see cref="HttpRequestException.HttpRequestError"/> says why (for example
    /// <see cref="HttpRequestError.ConnectionError"/> or <see cref="HttpRequestError.NameResolutionError"/>). Connections that
    /// did open stay warm.
    /// </exception>
    /// <exception cref="OpenAIStreamTimeoutException">The server did not answer within 30 seconds.</exception>
    public static Task WarmUpAsync(this HttpClient httpClient, int connections = 1, CancellationToken cancellationToken = default) =>
        WarmUpAsync(httpClient, uri: null, connections, TimeProvider.System, cancellationToken);

    /// <summary>Opens <paramref name="connections"/> pooled connections to the server of <paramref name="uri"/>.</summary>
    /// <param name="httpClient">The client.</param>
    /// <param name="uri">The address to request: absolute, or relative to the client's base address. Use a server the client already talks to: the client's default headers go with the request.</param>
    /// <param name="connections">How many connections to open (at least 1). Over HTTP/2, one is enough.</param>
    /// <param name="cancellationToken">Cancels the warm-up.</param>
    /// <returns>A task that completes when every request has been answered (with any status) and its connection is idle in the pool.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="connections"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="uri"/> is relative and the client has no base address.</exception>
    /// <exception cref="HttpRequestException">A connection could not be opened; <see cref="HttpRequestException.HttpRequestError"/> says why.</exception>
    /// <exception cref="OpenAIStreamTimeoutException">The server did not answer within 30 seconds.</exception>
    public static Task WarmUpAsync(this HttpClient httpClient, Uri uri, int connections = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return WarmUpAsync(httpClient, uri, connections, TimeProvider.System, cancellationToken);
    }

    /// <summary>The warm-up with the clock of its bounds; <paramref name="uri"/> null means the base address.</summary>
    internal static Task WarmUpAsync(HttpClient httpClient, Uri? uri, int connections, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        if (uri is null)
        {
            uri = httpClient.BaseAddress
                ?? throw new InvalidOperationException("HttpClient.BaseAddress must be set to warm up its server, or pass the Uri to request.");
        }
        else if (!uri.IsAbsoluteUri)
        {
            Uri baseAddress = httpClient.BaseAddress
                ?? throw new InvalidOperationException("A relative Uri needs HttpClient.BaseAddress; pass an absolute Uri instead.");
            uri = new Uri(baseAddress, uri);
        }

        return WarmUpWithinAsync(httpClient, uri, connections, timeProvider, cancellationToken);
    }

    private static async Task WarmUpWithinAsync(HttpClient httpClient, Uri uri, int connections, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var bound = new CancellationTokenSource(MaxWait, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        var answered = new Countdown(connections);
        var requests = new Task[connections];
        for (int i = 0; i < connections; i++)
        {
            requests[i] = WarmOneAsync(httpClient, uri, answered, timeProvider, linked.Token);
        }

        try
        {
            await Task.WhenAll(requests).ConfigureAwait(false);
        }
        catch (Exception ex) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested && ex is not OpenAIStreamException)
        {
            throw new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Total, MaxWait, requestId: null, ex);
        }
    }

    private static async Task WarmOneAsync(HttpClient httpClient, Uri uri, Countdown answered, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri)
        {
            Version = httpClient.DefaultRequestVersion,
            VersionPolicy = httpClient.DefaultVersionPolicy,
        };
        HttpResponseMessage response;
        try
        {
            response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            answered.Signal(); // a failed request must not keep the others waiting
        }

        using (response)
        {
            // Holding the unread body keeps this connection busy, so no other warm-up request can be served on it — for a
            // while: a request still waiting then is waiting for a connection this hold keeps, so the hold ends.
            try
            {
                await answered.Task.WaitAsync(MaxHold, timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // drain now and free the connection for the request still waiting
            }
            await DrainAsync(response.Content, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a (small) body to its end, which hands an HTTP/1.1 connection back to the pool at once. A body that takes
    /// longer than <see cref="MaxDrain"/> is left: disposing its response drops the connection, and the warm-up goes on.
    /// </summary>
    private static async Task DrainAsync(HttpContent content, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var drain = new CancellationTokenSource(MaxDrain, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, drain.Token);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(DrainBufferSize);
        try
        {
            Stream body = await content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                int total = 0;
                int read;
                while (total < MaxDrainBytes && (read = await body.ReadAsync(buffer, linked.Token).ConfigureAwait(false)) > 0)
                {
                    total += read;
                }
            }
        }
        catch (Exception) when (drain.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // A stalled body: the connection goes with its response.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Completes its task when it has been signalled as many times as it was created with.</summary>
    private sealed class Countdown(int count)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = count;

        public Task Task => _done.Task;

        public void Signal()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.TrySetResult();
            }
        }
    }
}
