using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Responses;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>
/// A body that ends early on a real socket — the fake server closes the connection after K events (at once, or after a
/// short silence), with no terminating chunk — is a typed <see cref="OpenAIStreamProtocolException"/> on every entry point:
/// the typed readers with and without the handler, <see cref="OpenAIStreamingClient"/>, the low-level event reader, and the
/// official SDK reading through the handler. Never a raw transport exception, never a clean end.
/// </summary>
/// <remarks>The handler runs without retries here, so the break itself is what the caller sees.</remarks>
public sealed class BrokenBodyEndToEndTests
{
    private const string Model = "gpt-4o-mini";
    private const string Prompt = "Say hello";
    private const string ChatRequest = $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""";
    private const string ResponsesRequest = $$"""{"model":"{{Model}}","input":"{{Prompt}}"}""";
    private static readonly TimeSpan ShortStall = TimeSpan.FromMilliseconds(30);

    public enum Reader
    {
        ChatDirect,
        ChatThroughHandler,
        ChatThroughWrapper,
        ResponsesDirect,
        ResponsesThroughHandler,
        ResponsesThroughWrapper,
        SseDirect,
        SdkChatThroughHandler,
        SdkResponsesThroughHandler,
    }

    /// <summary>How the body breaks off.</summary>
    public enum Break
    {
        /// <summary>The server closes the connection (FIN) after the events.</summary>
        Cut,

        /// <summary>The server is silent for a moment, then closes.</summary>
        StallThenClose,

        /// <summary>The server resets the connection (RST) after the events.</summary>
        Reset,
    }

    public static TheoryData<Reader, int, Break> Cases
    {
        get
        {
            var data = new TheoryData<Reader, int, Break>();
            foreach (Reader reader in Enum.GetValues<Reader>())
            {
                foreach (int k in new[] { 0, 1, 3, 6 })
                {
                    foreach (Break how in Enum.GetValues<Break>())
                    {
                        data.Add(reader, k, how);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Stream_ConnectionClosedAfterKEvents_ThrowsTypedRetryableProtocolError(Reader reader, int k, Break how)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(how switch
        {
            Break.StallThenClose => Fault.StallAfterEvents(k, ShortStall),
            Break.Reset => Fault.ResetAfterEvents(k),
            _ => Fault.CutAfterEvents(k),
        }));
        using CancellationTokenSource guard = HangGuard.Start();
        var delivered = new List<string>();

        Exception? error = await Record(() => ReadAsync(reader, server, delivered, guard.Token));

        error.Should().BeOfType<OpenAIStreamProtocolException>("a broken body is a typed error, not {0}", error);
        var typed = (OpenAIStreamProtocolException)error!;
        typed.IsRetryable.Should().BeTrue("the same request may well succeed on another connection");
        if (reader != Reader.SseDirect)
        {
            // The low-level reader gets an HttpContent, which knows neither its status nor its headers.
            typed.RequestId.Should().StartWith("req_", "the server's x-request-id names the broken response");
            typed.StatusCode.Should().Be(200);
        }

        typed.InnerException.Should().NotBeNull("the transport failure is kept as the cause");
        guard.IsCancellationRequested.Should().BeFalse();
        // Through the handler or the wrapper, events before the first content are held back until the stream commits; a
        // break before it delivers nothing (and, with retries, would be retried).
        bool beforeContent = !IsDirect(reader) && k < (IsResponses(reader) ? 5 : 2);
        // The official SDK also passes on the error event that ends a body it reads through the handler (an empty chat
        // update, or a Responses error update) before the next read throws.
        int errorEvent = reader is Reader.SdkChatThroughHandler or Reader.SdkResponsesThroughHandler && !beforeContent ? 1 : 0;
        delivered.Should().HaveCount((beforeContent ? 0 : k) + errorEvent, "every event after the commit point and before the break was delivered, one update each");
        if (reader is Reader.ChatDirect or Reader.ChatThroughHandler or Reader.ChatThroughWrapper)
        {
            typed.EventIndex.Should().Be(k, "the error names how many events arrived");
            typed.Message.Should().Contain($"after {k} events")
                .And.Contain(k == 0 || beforeContent ? "no choice had begun" : "0 of 1 choices had a finish reason")
                .And.NotContain("truncated: the answer is truncated");
        }
        else if (reader is Reader.ResponsesDirect or Reader.ResponsesThroughHandler or Reader.ResponsesThroughWrapper)
        {
            typed.EventIndex.Should().Be(k);
            typed.Message.Should().Contain($"after {k} events").And.Contain("terminal event");
        }
        else if (reader == Reader.SseDirect)
        {
            typed.EventIndex.Should().Be(k);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stream_CallerCancelsDuringAStall_StaysOperationCanceled(bool throughHandler)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(Fault.StallAfterEvents(3, TimeSpan.FromMinutes(5))));
        using HttpClient http = throughHandler ? HandlerClient(server) : DirectClient(server);
        using var caller = new CancellationTokenSource();
        int delivered = 0;

        Exception? error = await Record(async () =>
        {
            await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(ChatRequest, caller.Token))
            {
                if (++delivered == 3)
                {
                    await caller.CancelAsync();
                }
            }
        });

        error.Should().BeAssignableTo<OperationCanceledException>();
        ((OperationCanceledException)error!).CancellationToken.Should().Be(caller.Token);
        delivered.Should().Be(3);
    }

    [Fact]
    public async Task Stream_ConnectionClosedAfterTheFinishChunk_IsComplete()
    {
        // A chat stream whose every choice has finished is complete, whether [DONE] or the usage chunk follow or not.
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync(new FakeOpenAIServerOptions { TokenCount = 4 });
        server.AddRule(new FaultRule(Fault.CutAfterEvents(6))); // role, 4 tokens, finish: then the cut instead of [DONE]
        using HttpClient http = DirectClient(server);
        var accumulator = new ChatCompletionAccumulator();
        using CancellationTokenSource guard = HangGuard.Start();

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(ChatRequest, guard.Token))
        {
            accumulator.Append(update);
        }

        ChatChoiceResult choice = accumulator.Build().Choices.Single();
        choice.FinishReason.Should().Be("stop");
        choice.Content.Should().Be(server.GetExpectedText(Model, [new FakeMessage("user", Prompt)]));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)] // a role chunk, then a reset
    public async Task Stream_ThroughTheHandlerWithRetries_ABreakBeforeTheFirstContentIsRetriedAndTheAnswerIsComplete(int k, bool reset)
    {
        await using FakeOpenAIServer server = await FakeOpenAIServer.StartAsync();
        server.AddRule(new FaultRule(reset ? Fault.ResetAfterEvents(k) : Fault.CutAfterEvents(k)) { Attempts = AttemptSet.Only(1) });
        using var http = new HttpClient(new OpenAIStreamingHandler(new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1) }) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = server.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        using CancellationTokenSource guard = HangGuard.Start();
        var text = new System.Text.StringBuilder();

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(ChatRequest, guard.Token))
        {
            text.Append(update.Text);
        }

        text.ToString().Should().Be(server.GetExpectedText(Model, [new FakeMessage("user", Prompt)]));
        server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
    }

    private static bool IsDirect(Reader reader) => reader is Reader.ChatDirect or Reader.ResponsesDirect or Reader.SseDirect;

    private static bool IsResponses(Reader reader) =>
        reader is Reader.ResponsesDirect or Reader.ResponsesThroughHandler or Reader.ResponsesThroughWrapper or Reader.SdkResponsesThroughHandler;

    private static async Task<Exception?> Record(Func<Task> action)
    {
        try
        {
            await Task.Run(action).WaitAsync(ManualTimeProvider.SafetyTimeout);
            return null;
        }
        catch (TimeoutException)
        {
            throw;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private static HttpClient DirectClient(FakeOpenAIServer server) =>
        new(new SocketsHttpHandler()) { BaseAddress = server.BaseAddress };

    private static HttpClient HandlerClient(FakeOpenAIServer server) =>
        new(new OpenAIStreamingHandler(new OpenAIStreamingOptions { MaxRetryAttempts = 0 }) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = server.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };

    private static async Task ReadAsync(Reader reader, FakeOpenAIServer server, List<string> delivered, CancellationToken token)
    {
        switch (reader)
        {
            case Reader.ChatDirect:
            case Reader.ChatThroughHandler:
            {
                using HttpClient http = reader == Reader.ChatDirect ? DirectClient(server) : HandlerClient(server);
                await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(ChatRequest, token))
                {
                    delivered.Add(update.Text ?? string.Empty);
                }

                break;
            }

            case Reader.ChatThroughWrapper:
            {
                using HttpClient http = DirectClient(server);
                await foreach (ChatCompletionUpdate update in new OpenAIStreamingClient(http, new OpenAIStreamingOptions()).StreamChatCompletionAsync(ChatRequest, token))
                {
                    delivered.Add(update.Text ?? string.Empty);
                }

                break;
            }

            case Reader.ResponsesDirect:
            case Reader.ResponsesThroughHandler:
            {
                using HttpClient http = reader == Reader.ResponsesDirect ? DirectClient(server) : HandlerClient(server);
                await foreach (ResponseStreamEvent e in http.StreamResponseAsync(ResponsesRequest, token))
                {
                    delivered.Add(e.Type);
                }

                break;
            }

            case Reader.ResponsesThroughWrapper:
            {
                using HttpClient http = DirectClient(server);
                await foreach (ResponseStreamEvent e in new OpenAIStreamingClient(http, new OpenAIStreamingOptions()).StreamResponseAsync(ResponsesRequest, token))
                {
                    delivered.Add(e.Type);
                }

                break;
            }

            case Reader.SseDirect:
            {
                using HttpClient http = DirectClient(server);
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "chat/completions"))
                {
                    Content = new StringContent(ChatRequest.Replace("]}", "],\"stream\":true}", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"),
                };
                using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
                await foreach (ServerSentEvent sse in response.Content.ReadServerSentEventsAsync(cancellationToken: token))
                {
                    delivered.Add(sse.GetDataString());
                }

                break;
            }

            case Reader.SdkChatThroughHandler:
            {
                using HttpClient http = HandlerClient(server);
                var client = new ChatClient(Model, new ApiKeyCredential("sk-test"), SdkOptions<OpenAIClientOptions>(server, http));
                await foreach (StreamingChatCompletionUpdate update in client.CompleteChatStreamingAsync([ChatMessage.CreateUserMessage(Prompt)], cancellationToken: token))
                {
                    delivered.Add(update.ContentUpdate.Count > 0 ? update.ContentUpdate[0].Text : string.Empty);
                }

                break;
            }

            case Reader.SdkResponsesThroughHandler:
            {
                using HttpClient http = HandlerClient(server);
#pragma warning disable OPENAI001 // the Responses client is marked experimental in SDK 2.15
                var client = new ResponsesClient(new ApiKeyCredential("sk-test"), SdkOptions<ResponsesClientOptions>(server, http));
                await foreach (StreamingResponseUpdate update in await client.CreateResponseStreamingAsync(Model, Prompt, previousResponseId: null, token))
#pragma warning restore OPENAI001
                {
                    delivered.Add(update.GetType().Name);
                }

                break;
            }
        }
    }

    private static T SdkOptions<T>(FakeOpenAIServer server, HttpClient http)
        where T : ClientPipelineOptions, new()
    {
        var options = new T { Transport = new HttpClientPipelineTransport(http), RetryPolicy = new ClientRetryPolicy(maxRetries: 0), NetworkTimeout = Timeout.InfiniteTimeSpan };
        switch (options)
        {
            case OpenAIClientOptions openAI:
                openAI.Endpoint = server.BaseAddress;
                break;
#pragma warning disable OPENAI001
            case ResponsesClientOptions responses:
#pragma warning restore OPENAI001
                responses.Endpoint = server.BaseAddress;
                break;
        }

        return options;
    }
}
