using System.Net;
using System.Net.Http.Headers;

namespace OpenAIStreaming.Benchmarks;

/// <summary>Answers every request with 200 and the generated body as <c>text/event-stream</c>, read through a <see cref="FixedReadSizeStream"/>.</summary>
public sealed class ChatStreamHandler : HttpMessageHandler
{
    private readonly ChatStreamData _data;

    public ChatStreamHandler(ChatStreamData data) => _data = data;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = new StreamContent(_data.Open());
        content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
    }
}
