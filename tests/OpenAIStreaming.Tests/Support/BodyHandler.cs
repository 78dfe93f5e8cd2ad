using System.Net;
using System.Text;

namespace OpenAIStreaming.Tests.Support;

/// <summary>An inner handler that answers every request with a fixed status, content type and body, and records what it saw.</summary>
public sealed class BodyHandler(byte[] body, ReadPattern? pattern = null, HttpStatusCode status = HttpStatusCode.OK, string contentType = "text/event-stream") : HttpMessageHandler
{
    public BodyHandler(string body, ReadPattern? pattern = null, HttpStatusCode status = HttpStatusCode.OK, string contentType = "text/event-stream")
        : this(Encoding.UTF8.GetBytes(body), pattern, status, contentType)
    {
    }

    public List<(HttpRequestMessage Request, string Body)> Requests { get; } = [];

    public List<HttpResponseMessage> Responses { get; } = [];

    public List<ScriptedStream> Streams { get; } = [];

    public Dictionary<string, string> ResponseHeaders { get; } = [];

    public HttpClient CreateClient(string baseAddress = "http://127.0.0.1/v1/") => new(this) { BaseAddress = new Uri(baseAddress) };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        string sent = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add((request, sent));
        var stream = new ScriptedStream(body, pattern ?? ReadPattern.Whole);
        Streams.Add(stream);
        var content = new StreamContent(stream);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = new HttpResponseMessage(status) { Content = content, RequestMessage = request };
        foreach ((string name, string value) in ResponseHeaders)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        Responses.Add(response);
        return response;
    }
}
