using OpenAIStreaming.Testing;
using static OpenAIStreaming.Tests.Testing.Support.FakeApi;

namespace OpenAIStreaming.Tests.Testing;

/// <summary>The fake server carries the load a test suite puts on it.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task OneThousandConcurrentHealthyStreams_AllCompleteWithTheirDone()
    {
        const int streams = 1000;
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = 4 });
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = streams };
        using var client = new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        async Task<List<string>> StreamAsync(int i)
        {
            using HttpResponseMessage response = await SendAsync(client, Post("chat/completions", ChatBody(content: $"stream {i}")), timeout.Token);
            return await ReadAllDataAsync(response, timeout.Token);
        }

        List<string>[] results = await Task.WhenAll(Enumerable.Range(0, streams).Select(StreamAsync));

        results.Should().OnlyContain(r => r.Count == 1 + 4 + 1 + 1 && r.Last() == "[DONE]");
        server.Requests.Should().HaveCount(streams);
        ChatText(results[7]).Should().Be(server.GetExpectedText("gpt-4o-mini", [new OpenAIStreaming.Testing.FakeMessage("user", "stream 7")]));
    }
}
