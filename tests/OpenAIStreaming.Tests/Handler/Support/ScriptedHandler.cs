using System.Net;
using System.Text;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Handler.Support;

/// <summary>What the stub saw on one attempt.</summary>
public sealed record AttemptRecord(string? ClientRequestId, string? Attempt, string? RetryCount, string Body, TimeSpan SentAt)
{
    /// <summary>Gets the address the attempt was sent to.</summary>
    public Uri? Uri { get; init; }

    /// <summary>Gets the attempt's <c>Authorization</c> header, if any.</summary>
    public string? Authorization { get; init; }

    /// <summary>Gets the attempt's <c>api-key</c> header, if any.</summary>
    public string? ApiKey { get; init; }
}

/// <summary>
/// An inner handler that plays a script: one behaviour per attempt (then <see cref="Fallback"/>), recording each request's
/// ids and body and every response it creates, so tests can check that each one was disposed.
/// </summary>
public sealed class ScriptedHandler(ManualTimeProvider time) : HttpMessageHandler
{
    private readonly object _lock = new();
    private readonly Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>> _script = new();
    private readonly List<AttemptRecord> _attempts = [];
    private readonly List<HttpResponseMessage> _responses = [];
    private readonly List<Stream> _streams = [];

    public Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>? Fallback { get; set; }

    public IReadOnlyList<AttemptRecord> Attempts
    {
        get
        {
            lock (_lock)
            {
                return [.. _attempts];
            }
        }
    }

    public IReadOnlyList<Stream> Streams
    {
        get
        {
            lock (_lock)
            {
                return [.. _streams];
            }
        }
    }

    /// <summary>Gets a value indicating whether every body stream the stub handed out has been disposed.</summary>
    public bool AllBodiesDisposed
    {
        get
        {
            lock (_lock)
            {
                return _streams.TrueForAll(s => s is ControlledStream c ? c.IsDisposed : s is TrackedMemoryStream m && m.IsDisposed);
            }
        }
    }

    public ScriptedHandler Then(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> behaviour)
    {
        lock (_lock)
        {
            _script.Enqueue(behaviour);
        }

        return this;
    }

    public ScriptedHandler ThenStatus(int status, string? body = null, params (string Name, string Value)[] headers) =>
        Then((request, _) => Task.FromResult(Respond(request, status, new TrackedMemoryStream(Encoding.UTF8.GetBytes(body ?? string.Empty)), "application/json", headers)));

    public ScriptedHandler ThenSse(string body, params (string Name, string Value)[] headers) =>
        Then((request, _) => Task.FromResult(Respond(request, 200, new TrackedMemoryStream(Encoding.UTF8.GetBytes(body)), "text/event-stream", headers)));

    public ScriptedHandler ThenStream(ControlledStream stream, params (string Name, string Value)[] headers) =>
        Then((request, _) => Task.FromResult(Respond(request, 200, stream, "text/event-stream", headers)));

    public ScriptedHandler ThenThrow(Exception exception) => Then((_, _) => Task.FromException<HttpResponseMessage>(exception));

    /// <summary>Never answers: the send waits until it is cancelled.</summary>
    public ScriptedHandler ThenHang() => Then(async (_, cancellationToken) =>
    {
        await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        throw new InvalidOperationException("unreachable");
    });

    public HttpResponseMessage Respond(HttpRequestMessage request, int status, Stream body, string contentType, (string Name, string Value)[] headers)
    {
        var content = new StreamContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = new HttpResponseMessage((HttpStatusCode)status) { Content = content, RequestMessage = request };
        foreach ((string name, string value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        lock (_lock)
        {
            _streams.Add(body);
            _responses.Add(response);
        }

        return response;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> behaviour;
        lock (_lock)
        {
            _attempts.Add(new AttemptRecord(Header(request, "x-client-request-id"), Header(request, "x-attempt"), Header(request, "x-stainless-retry-count"), body, time.Elapsed)
            {
                Uri = request.RequestUri,
                Authorization = Header(request, "Authorization"),
                ApiKey = Header(request, "api-key"),
            });
            behaviour = _script.Count > 0 ? _script.Dequeue() : Fallback ?? throw new InvalidOperationException("The script has no behaviour left for this attempt.");
        }

        return await behaviour(request, cancellationToken);
    }

    private static string? Header(HttpRequestMessage request, string name) =>
        request.Headers.TryGetValues(name, out IEnumerable<string>? values) ? values.Single() : null;
}

/// <summary>A memory stream that remembers being disposed.</summary>
public sealed class TrackedMemoryStream(byte[] data) : MemoryStream(data)
{
    public bool IsDisposed { get; private set; }

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        base.Dispose(disposing);
    }
}
