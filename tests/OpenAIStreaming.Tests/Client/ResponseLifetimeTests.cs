using System.Net;
using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Client;

/// <summary>
/// The HttpResponseMessage is disposed on every exit (normal end, break, exception, cancellation), the body is read as it
/// arrives, and the caller's cancellation surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class ResponseLifetimeTests
{
    private const string FirstChunk =
        """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"first"},"finish_reason":null}]}""";

    private const string LastChunk =
        """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" last"},"finish_reason":"stop"}]}""";

    private const string ResponseCreated =
        """{"type":"response.created","sequence_number":0,"response":{"id":"resp_l","object":"response","status":"in_progress","model":"m","output":[],"usage":null}}""";

    private const string ResponseCompleted =
        """{"type":"response.completed","sequence_number":1,"response":{"id":"resp_l","object":"response","status":"completed","model":"m","output":[],"usage":null}}""";

    private static readonly Dictionary<string, Func<StubOpenAIHandler>> ChatExits = new()
    {
        ["normal end"] = () => StubOpenAIHandler.Sse(SseBody.Chat(FirstChunk, LastChunk)),
        ["no [DONE], finished"] = () => StubOpenAIHandler.Sse(SseBody.Data(FirstChunk, LastChunk)),
        ["body open after [DONE]"] = () => StubOpenAIHandler.Sse(SseBody.Chat(FirstChunk, LastChunk), end: StreamEnd.Hang),
        ["malformed json"] = () => StubOpenAIHandler.Sse(SseBody.Chat(FirstChunk, "{nope", LastChunk)),
        ["error event"] = () => StubOpenAIHandler.Sse(SseBody.Chat(FirstChunk, """{"error":{"message":"boom","type":"server_error","param":null,"code":null}}""")),
        ["truncated"] = () => StubOpenAIHandler.Sse(SseBody.Data(FirstChunk)),
        ["http 500"] = () => StubOpenAIHandler.WithBody(HttpStatusCode.InternalServerError, """{"error":{"message":"boom","type":"server_error","param":null,"code":null}}"""),
        ["http 401"] = () => StubOpenAIHandler.WithBody(HttpStatusCode.Unauthorized, """{"error":{"message":"no","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"""),
        ["200 json"] = () => StubOpenAIHandler.WithBody(HttpStatusCode.OK, """{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}"""),
    };

    private static readonly Dictionary<string, Func<StubOpenAIHandler>> ResponsesExits = new()
    {
        ["normal end"] = () => StubOpenAIHandler.Sse(SseBody.Responses(ResponseCreated, ResponseCompleted)),
        ["body open after completed"] = () => StubOpenAIHandler.Sse(SseBody.Responses(ResponseCreated, ResponseCompleted), end: StreamEnd.Hang),
        ["failed"] = () => StubOpenAIHandler.Sse(SseBody.Responses(
            ResponseCreated,
            """{"type":"response.failed","sequence_number":1,"response":{"id":"resp_l","status":"failed","error":{"code":"server_error","message":"boom"}}}""")),
        ["error event"] = () => StubOpenAIHandler.Sse(SseBody.Responses(
            ResponseCreated,
            """{"type":"error","sequence_number":1,"error":{"type":"server_error","code":"server_error","message":"boom","param":null}}""")),
        ["truncated"] = () => StubOpenAIHandler.Sse(SseBody.Responses(ResponseCreated)),
        ["http 503"] = () => StubOpenAIHandler.WithBody(HttpStatusCode.ServiceUnavailable, """{"error":{"message":"busy","type":"server_error","param":null,"code":null}}"""),
    };

    private static async IAsyncEnumerable<T> EnumerateWithCancellation<T>(IAsyncEnumerable<T> source, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // The token reaches the source only through GetAsyncEnumerator(token), as with "await foreach (... .WithCancellation(token))".
        await foreach (T item in source.WithCancellation(cancellationToken))
        {
            yield return item;
        }
    }

    public static TheoryData<string> ChatExitNames => [.. ChatExits.Keys];

    public static TheoryData<string> ResponsesExitNames => [.. ResponsesExits.Keys];

    [Theory]
    [MemberData(nameof(ChatExitNames))]
    public async Task StreamChatCompletionAsync_AnyWayTheStreamEnds_DisposesTheResponse(string exit)
    {
        StubOpenAIHandler stub = ChatExits[exit]();

        await stub.CaptureChatAsync();

        stub.Response.IsDisposed.Should().BeTrue($"the response must be disposed after: {exit}");
        stub.Body.IsDisposed.Should().BeTrue($"the body must be released after: {exit}");
    }

    [Theory]
    [MemberData(nameof(ResponsesExitNames))]
    public async Task StreamResponseAsync_AnyWayTheStreamEnds_DisposesTheResponse(string exit)
    {
        StubOpenAIHandler stub = ResponsesExits[exit]();

        await stub.CaptureResponsesAsync();

        stub.Response.IsDisposed.Should().BeTrue($"the response must be disposed after: {exit}");
        stub.Body.IsDisposed.Should().BeTrue($"the body must be released after: {exit}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamChatCompletionAsync_BreakAfterFirstUpdateWhileBodyStillOpen_FirstUpdateArrivesAndResponseIsDisposed(bool asyncReads)
    {
        // The body never ends: the first update can only arrive if the body is read as it streams.
        var stub = StubOpenAIHandler.Sse(SseBody.Data(FirstChunk), Chunking.Whole(asyncReads), StreamEnd.Hang);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        string? first = null;

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, guard.Token))
        {
            first = update.Text;
            break;
        }

        first.Should().Be("first");
        stub.Response.IsDisposed.Should().BeTrue();
        stub.Body.IsExhausted.Should().BeTrue();
        guard.IsCancellationRequested.Should().BeFalse();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamResponseAsync_BreakAfterFirstEventWhileBodyStillOpen_ResponseIsDisposed(bool asyncReads)
    {
        var stub = StubOpenAIHandler.Sse(SseBody.Responses(ResponseCreated), Chunking.Whole(asyncReads), StreamEnd.Hang);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        ResponseStreamEventKind? first = null;

        await foreach (ResponseStreamEvent e in http.StreamResponseAsync(StreamingCalls.ResponsesRequest, guard.Token))
        {
            first = e.Kind;
            break;
        }

        first.Should().Be(ResponseStreamEventKind.Created);
        stub.Response.IsDisposed.Should().BeTrue();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task StreamChatCompletionAsync_CallerCancelsMidStream_ThrowsOperationCanceledAndDisposesTheResponse(bool asyncReads, bool viaWithCancellation)
    {
        var stub = StubOpenAIHandler.Sse(SseBody.Data(FirstChunk), Chunking.Whole(asyncReads), StreamEnd.Hang);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);
        var received = new List<string?>();
        IAsyncEnumerable<ChatCompletionUpdate> updates = viaWithCancellation
            ? EnumerateWithCancellation(http.StreamChatCompletionAsync(StreamingCalls.ChatRequest), caller.Token)
            : http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, caller.Token);

        Func<Task> act = async () =>
        {
            await foreach (ChatCompletionUpdate update in updates)
            {
                received.Add(update.Text);
                await caller.CancelAsync();
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        received.Should().Equal("first");
        stub.Response.IsDisposed.Should().BeTrue();
        guard.IsCancellationRequested.Should().BeFalse("the caller's token, not the hang guard, ended the stream");
    }

    [Fact]
    public async Task StreamResponseAsync_CallerCancelsMidStream_ThrowsOperationCanceledAndDisposesTheResponse()
    {
        var stub = StubOpenAIHandler.Sse(SseBody.Responses(ResponseCreated), Chunking.OneByte(asyncReads: true), StreamEnd.Hang);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);

        Func<Task> act = async () =>
        {
            await foreach (ResponseStreamEvent e in http.StreamResponseAsync(StreamingCalls.ResponsesRequest, caller.Token))
            {
                await caller.CancelAsync();
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        stub.Response.IsDisposed.Should().BeTrue();
        guard.IsCancellationRequested.Should().BeFalse();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_CallerCancelsBeforeResponseHeaders_ThrowsOperationCanceled()
    {
        var headersSent = new TaskCompletionSource();
        var stub = new StubOpenAIHandler(async (_, ct) =>
        {
            headersSent.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        });
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);

        Task<Captured<ChatCompletionUpdate>> run = http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, caller.Token).CaptureAsync();
        await headersSent.Task.WaitAsync(guard.Token);
        await caller.CancelAsync();
        Captured<ChatCompletionUpdate> captured = await run;

        captured.Items.Should().BeEmpty();
        captured.ErrorShouldBe<OperationCanceledException>();
        guard.IsCancellationRequested.Should().BeFalse();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_TokenAlreadyCancelled_ThrowsOperationCanceledWithoutUpdates()
    {
        var stub = StubOpenAIHandler.Sse(SseBody.Chat(FirstChunk, LastChunk));
        using HttpClient http = stub.CreateClient();
        using var caller = new CancellationTokenSource();
        await caller.CancelAsync();

        Captured<ChatCompletionUpdate> captured = await http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, caller.Token).CaptureAsync();

        captured.Items.Should().BeEmpty();
        captured.ErrorShouldBe<OperationCanceledException>();
        stub.Responses.Where(r => !r.IsDisposed).Should().BeEmpty("a response, if one was received, is disposed");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_UpdatesDeliveredAsTheBodyArrives_NotAfterItEnds()
    {
        // Two events, then the body stays open: both must be delivered without the body ending.
        var stub = StubOpenAIHandler.Sse(Encoding.UTF8.GetBytes(SseBody.Data(FirstChunk, FirstChunk)), Chunking.OneByte(asyncReads: true), StreamEnd.Hang);
        using HttpClient http = stub.CreateClient();
        using CancellationTokenSource guard = HangGuard.Start();
        int count = 0;

        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, guard.Token))
        {
            if (++count == 2)
            {
                break;
            }
        }

        count.Should().Be(2);
        stub.Response.IsDisposed.Should().BeTrue();
    }
}
