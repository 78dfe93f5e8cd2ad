using System.Net.Http.Headers;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd.Support;

/// <summary>
/// Sits between <see cref="OpenAIStreamingHandler"/> and the socket handler and hands out every response it receives as a
/// <see cref="TrackingResponseMessage"/> (same status, headers and content), so a test can check that each attempt's
/// response was disposed, whoever ended up owning it.
/// </summary>
public sealed class ResponseRecorder : DelegatingHandler
{
    private readonly Lock _gate = new();
    private readonly List<TrackingResponseMessage> _responses = [];

    public ResponseRecorder(HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
    }

    /// <summary>Gets a snapshot of the responses handed out so far, in arrival order.</summary>
    public IReadOnlyList<TrackingResponseMessage> Responses
    {
        get
        {
            lock (_gate)
            {
                return [.. _responses];
            }
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage received = await base.SendAsync(request, cancellationToken);
        var tracked = new TrackingResponseMessage(received.StatusCode)
        {
            Content = received.Content,
            ReasonPhrase = received.ReasonPhrase,
            RequestMessage = received.RequestMessage,
            Version = received.Version,
        };
        foreach (KeyValuePair<string, HeaderStringValues> header in received.Headers.NonValidated)
        {
            tracked.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        lock (_gate)
        {
            _responses.Add(tracked);
        }

        return tracked;
    }
}
