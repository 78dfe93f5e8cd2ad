using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>The handler over real sockets: the fake OpenAI server on Kestrel, time driven by a manual clock.</summary>
public sealed class HandlerEndToEndTests
{
    private const string Model = "gpt-4o-mini";
    private static readonly FakeMessage[] Messages = [new("user", "Say hello")];

    [Fact]
    public async Task OfficialSdkThroughHandler_500OnFirstAttempt_StreamsTheCompleteAnswer()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(500)) { Attempts = AttemptSet.Only(1) });
        using var http = new HttpClient(new OpenAIStreamingHandler(new OpenAIStreamingOptions()) { InnerHandler = new SocketsHttpHandler() });
        var client = new ChatClient(Model, new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = server.BaseAddress,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0), // the handler retries; the SDK must not multiply attempts
        });

        var text = new System.Text.StringBuilder();
        await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage("Say hello")]))
        {
            foreach (ChatMessageContentPart part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        text.ToString().Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
        server.Requests.Select(r => r.BodySha256).Distinct().Should().ContainSingle("the same body is re-sent");
        server.Requests.Select(r => r.LogicalRequestId).Distinct().Should().ContainSingle("every attempt carries the same client request id");
    }

    [Fact]
    public async Task TypedReaderThroughHandler_429WithRetryAfter2_WaitsTwoSecondsOnTheClockThenCompletes()
    {
        var clock = new ManualTimeProvider();
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(429, retryAfter: TimeSpan.FromSeconds(2))) { Attempts = AttemptSet.Only(1) });
        var options = new OpenAIStreamingOptions { FirstTokenTimeout = TimeSpan.FromMinutes(5), TotalTimeout = TimeSpan.FromMinutes(10) };
        using var http = new HttpClient(new OpenAIStreamingHandler(options, clock) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = server.BaseAddress,
        };

        Task<ChatCompletionResult> reading = ReadAsync(http);
        await ManualTimeProvider.WaitUntilAsync(() => server.Requests.Count == 1 && clock.PendingDueTimes().Any(d => d == TimeSpan.FromSeconds(2)), "the retry delay");
        server.Requests.Should().HaveCount(1, "nothing is re-sent before the clock moves");
        clock.Advance(TimeSpan.FromSeconds(2));
        ChatCompletionResult result = await reading.WaitAsync(ManualTimeProvider.SafetyTimeout);

        result.Choices.Single().Content.Should().Be(server.GetExpectedText(Model, Messages));
        result.Choices.Single().FinishReason.Should().Be("stop");
        server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
    }

    [Fact]
    public async Task TypedReaderThroughHandler_ContextLengthExceeded_OneAttemptAndTheCodePropagates()
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.Status(400, errorCode: "context_length_exceeded")));
        using var http = new HttpClient(new OpenAIStreamingHandler(new OpenAIStreamingOptions()) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = server.BaseAddress,
        };

        Func<Task> read = () => ReadAsync(http);

        OpenAIStreamException error = (await read.Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.StatusCode.Should().Be(400);
        error.ErrorCode.Should().Be("context_length_exceeded");
        error.RequestId.Should().StartWith("req_");
        server.Requests.Should().ContainSingle();
    }

    private static async Task<ChatCompletionResult> ReadAsync(HttpClient http)
    {
        var accumulator = new ChatCompletionAccumulator();
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"Say hello"}]}"""))
        {
            accumulator.Append(update);
        }

        return accumulator.Build();
    }
}
