using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Recovery.Internal;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.EndToEnd.Support;
using OpenAIStreaming.Tests.Support;
using static OpenAIStreaming.Tests.EndToEnd.Support.RecoveryHarness;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// Recovery by continuation over real sockets, against a server that continues a final assistant message
/// (<c>continue_final_message</c>): the broken stream's delivered text goes back as the prefill, only what follows it is
/// streamed, and the reader gets the canonical answer once. A target that refuses the prefill is replayed instead.
/// </summary>
public sealed class ContinuationEndToEndTests
{

    public static TheoryData<Reader, int> Cuts
    {
        get
        {
            var data = new TheoryData<Reader, int>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (int k in new[] { 2, 3, 17, 40, 59, 60 })
                {
                    data.Add(reader, k);
                }
            }

            return data;
        }
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", """{"continue_final_message":true,"add_generation_prompt":false,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"déjà \"q\""}]}""")]
    [InlineData("""{"model":"m","messages":[]}""", """{"continue_final_message":true,"add_generation_prompt":false,"model":"m","messages":[{"role":"assistant","content":"déjà \"q\""}]}""")]
    [InlineData("""{"add_generation_prompt":true,"messages":[],"continue_final_message":false}""", """{"continue_final_message":true,"add_generation_prompt":false,"messages":[{"role":"assistant","content":"déjà \"q\""}]}""")]
    public void Body_AppendsTheDeliveredTextAsTheFinalAssistantMessage(string body, string expected) =>
        Encoding.UTF8.GetString(Continuation.Body(Encoding.UTF8.GetBytes(body), "déjà \"q\"")!).Should().Be(expected);

    [Theory]
    [InlineData("""{"messages":[]}""", true)]
    [InlineData("""{"messages":[],"n":1,"tools":[],"response_format":{"type":"text"}}""", true)]
    [InlineData("""{"messages":[],"tools":[{"type":"function","function":{"name":"f"}}]}""", false)]
    [InlineData("""{"messages":[],"response_format":{"type":"json_schema","json_schema":{}}}""", false)]
    [InlineData("""{"messages":[],"n":2}""", false)]
    [InlineData("""{"input":"x"}""", false)]
    public void IsEligible_OnlyOneChoiceOfTextCanBeContinued(string body, bool eligible) =>
        Continuation.IsEligible(Encoding.UTF8.GetBytes(body)).Should().Be(eligible);

    [Theory]
    [MemberData(nameof(Cuts))]
    public async Task Stream_CutAfterK_IsContinuedFromTheDeliveredText(Reader reader, int k)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(k)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = Client(server);

        string text = await ReadAsync(http, reader);

        string expected = server.GetExpectedText(Model, Messages);
        text.Should().Be(expected, "nothing lost, nothing repeated");
        server.Requests.Should().HaveCount(2);
        using JsonDocument continued = JsonDocument.Parse(server.Requests[1].Body);
        JsonElement last = continued.RootElement.GetProperty("messages").EnumerateArray().Last();
        last.GetProperty("role").GetString().Should().Be("assistant");
        string prefill = last.GetProperty("content").GetString()!;
        expected.Should().StartWith(prefill).And.NotBe(prefill, "the prefill is what was delivered before the cut");
        continued.RootElement.GetProperty("continue_final_message").GetBoolean().Should().BeTrue();
    }

    [Theory]
    [InlineData(Reader.Typed)]
    [InlineData(Reader.Sdk)]
    public async Task Stream_ATargetThatRefusesThePrefill_IsReplayedAndTheRefusalIsNotTheCallersError(Reader reader)
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        server.AddRule(new FaultRule(Fault.RejectAssistantPrefill()));
        using HttpClient http = Client(server);

        string text = await ReadAsync(http, reader);

        text.Should().Be(server.GetExpectedText(Model, Messages));
        server.Requests.Should().HaveCount(3, "the stream, the refused continuation, the replay");
        server.Requests[2].Body.Should().NotContain("continue_final_message", "the replay is the request as it was");
    }

    [Fact]
    public async Task Stream_WithTools_IsReplayedNotContinued()
    {
        await using FakeOpenAIServer server = await StartServerAsync();
        server.AddRule(new FaultRule(Fault.CutAfterEvents(30)) { Attempts = AttemptSet.Only(1) });
        using HttpClient http = Client(server);
        string request = ChatRequest.Replace("]}", """],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}],"tool_choice":"none"}""", StringComparison.Ordinal);

        var text = new StringBuilder();
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(request))
        {
            text.Append(update.Text);
        }

        text.ToString().Should().NotBeEmpty();
        server.Requests.Should().HaveCount(2);
        server.Requests[1].Body.Should().NotContain("continue_final_message");
    }

    private static Task<FakeOpenAIServer> StartServerAsync() =>
        FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = Tokens });

    private static HttpClient Client(FakeOpenAIServer server)
    {
        var options = new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1), Recovery = { ContinueWithAssistantPrefill = true } };
        var handler = new OpenAIStreamingHandler(options, TimeProvider.System, loggerFactory: null, new Random(7)) { InnerHandler = new SocketsHttpHandler() };
        return new HttpClient(handler) { BaseAddress = server.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    private static async Task<string> ReadAsync(HttpClient http, Reader reader)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        var text = new StringBuilder();
        string? finish = null;
        if (reader == Reader.Typed)
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(ChatRequest, guard.Token))
            {
                text.Append(update.Text);
                finish ??= update.FinishReason;
            }
        }
        else
        {
            var client = new ChatClient(Model, new ApiKeyCredential("sk-test"), new OpenAIClientOptions
            {
                Endpoint = http.BaseAddress,
                Transport = new HttpClientPipelineTransport(http),
                RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                NetworkTimeout = Timeout.InfiniteTimeSpan,
            });
            await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage(Prompt)], cancellationToken: guard.Token))
            {
                foreach (ChatMessageContentPart part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }

                finish ??= update.FinishReason?.ToString();
            }
        }

        finish.Should().NotBeNull("a stream that ends without an error is complete");
        return text.ToString();
    }
}
