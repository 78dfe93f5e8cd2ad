using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// An in-memory OpenAI-style endpoint: records every request and answers with a canned status and body. Every body is a
/// <see cref="ChunkedStream"/>, so tests can cut it into reads and see whether the response was disposed.
/// </summary>
public sealed class StubOpenAIHandler : HttpMessageHandler
{
    public const string RequestId = "req_0123456789abcdef0123456789abcdef";

    public static readonly Uri BaseAddress = new("http://openai.test/v1/");

    private readonly Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _respond;

    public StubOpenAIHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond)
    {
        _respond = respond;
    }

    public List<CapturedRequest> Requests { get; } = [];

    /// <summary>The bodies handed out, in order.</summary>
    public List<ChunkedStream> Bodies { get; } = [];

    /// <summary>Headers added to every response (replacing a default of the same name, such as <c>x-request-id</c>).</summary>
    public Dictionary<string, string> ResponseHeaders { get; } = [];

    /// <summary>The responses handed out, in order.</summary>
    public List<TrackingResponseMessage> Responses { get; } = [];

    public ChunkedStream Body => Bodies.Should().ContainSingle("one response body was handed out").Subject;

    public TrackingResponseMessage Response => Responses.Should().ContainSingle("one response was handed out").Subject;

    /// <summary>Answers 200 <c>text/event-stream</c> with <paramref name="body"/>.</summary>
    public static StubOpenAIHandler Sse(string body, Chunking? chunking = null, StreamEnd end = StreamEnd.Eof) =>
        Respond(HttpStatusCode.OK, Encoding.UTF8.GetBytes(body), "text/event-stream; charset=utf-8", chunking, end);

    public static StubOpenAIHandler Sse(byte[] body, Chunking? chunking = null, StreamEnd end = StreamEnd.Eof) =>
        Respond(HttpStatusCode.OK, body, "text/event-stream; charset=utf-8", chunking, end);

    /// <summary>Answers with <paramref name="status"/> and a body of the given content type (JSON by default).</summary>
    public static StubOpenAIHandler WithBody(HttpStatusCode status, string body, string? contentType = "application/json; charset=utf-8") =>
        Respond(status, Encoding.UTF8.GetBytes(body), contentType, null, StreamEnd.Eof);

    public static StubOpenAIHandler Respond(HttpStatusCode status, byte[] body, string? contentType, Chunking? chunking, StreamEnd end)
    {
        StubOpenAIHandler? handler = null;
        handler = new StubOpenAIHandler((_, _) =>
        {
            ChunkedStream stream = (chunking ?? Chunking.Whole()).Open(body, end);
            handler!.Bodies.Add(stream);
            var content = new StreamContent(stream);
            if (contentType is not null)
            {
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }

            var response = new TrackingResponseMessage(status) { Content = content };
            response.Headers.Add("x-request-id", RequestId);
            foreach ((string name, string value) in handler.ResponseHeaders)
            {
                response.Headers.Remove(name);
                response.Headers.TryAddWithoutValidation(name, value);
            }

            handler.Responses.Add(response);
            return Task.FromResult<HttpResponseMessage>(response);
        });
        return handler;
    }

    /// <summary>A client whose <see cref="HttpClient.BaseAddress"/> is <see cref="BaseAddress"/>.</summary>
    public HttpClient CreateClient() => CreateClient(BaseAddress.ToString());

    public HttpClient CreateClient(string baseAddress) => new(this, disposeHandler: false) { BaseAddress = new Uri(baseAddress) };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add(new CapturedRequest(request.Method, request.RequestUri, body, request.Content?.Headers.ContentType?.MediaType, request.Headers));
        HttpResponseMessage response = await _respond(request, cancellationToken);
        response.RequestMessage = request;
        return response;
    }
}
