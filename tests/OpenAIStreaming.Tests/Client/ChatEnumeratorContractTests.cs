using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Client;

/// <summary>
/// The chat stream's enumerator keeps the contract of a C# async iterator with <c>[EnumeratorCancellation]</c>: the request
/// is sent on the first MoveNextAsync, both tokens count, the response is released on every exit even without
/// DisposeAsync, and an ended enumerator answers false. Its synchronous fast path (several chunks in one read) included.
/// </summary>
public sealed class ChatEnumeratorContractTests
{
    private static readonly string ManyChunks = SseBody.Data([.. Enumerable.Range(0, 8).Select(i => SseBody.Chunk($$"""{"content":"t{{i}}"}"""))]);

    [Theory]
    [MemberData(nameof(Chunkings.SyncAndAsync), MemberType = typeof(Chunkings))]
    public async Task MoveNextAsync_EitherOfTwoTokensCancelledBetweenBufferedUpdates_ThrowsAndReleasesTheResponse(bool asyncReads)
    {
        foreach (bool cancelCallToken in new[] { false, true })
        {
            var stub = StubOpenAIHandler.Sse(ManyChunks, Chunking.Whole(asyncReads), StreamEnd.Hang);
            using HttpClient http = stub.CreateClient();
            using CancellationTokenSource guard = HangGuard.Start();
            using var callToken = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);
            using var enumeratorToken = new CancellationTokenSource();
            IAsyncEnumerator<ChatCompletionUpdate> updates = http.StreamChatCompletionAsync(StreamingCalls.ChatRequest, callToken.Token)
                .GetAsyncEnumerator(enumeratorToken.Token);

            (await updates.MoveNextAsync()).Should().BeTrue();
            (await updates.MoveNextAsync()).Should().BeTrue();
            updates.Current.Text.Should().Be("t1");
            await (cancelCallToken ? callToken : enumeratorToken).CancelAsync();
            Func<Task> next = async () => await updates.MoveNextAsync();

            await next.Should().ThrowAsync<OperationCanceledException>();
            stub.Response.IsDisposed.Should().BeTrue("the enumeration ended with an exception, without DisposeAsync");
            (await updates.MoveNextAsync()).Should().BeFalse();
            await updates.DisposeAsync();
            guard.IsCancellationRequested.Should().BeFalse();
        }
    }

    [Fact]
    public async Task DisposeAsync_BeforeTheFirstMoveNext_SendsNothing()
    {
        var stub = StubOpenAIHandler.Sse(SseBody.Chat(SseBody.Chunk("""{"content":"a"}""")));
        using HttpClient http = stub.CreateClient();

        IAsyncEnumerator<ChatCompletionUpdate> updates = http.StreamChatCompletionAsync(StreamingCalls.ChatRequest).GetAsyncEnumerator();
        await updates.DisposeAsync();

        stub.Requests.Should().BeEmpty();
        (await updates.MoveNextAsync()).Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(Chunkings.SyncAndAsync), MemberType = typeof(Chunkings))]
    public async Task MoveNextAsync_AfterTheEnd_AnswersFalseAndEachEnumerationSendsTheRequestAgain(bool asyncReads)
    {
        var stub = StubOpenAIHandler.Sse(SseBody.Chat(SseBody.Chunk("""{"content":"a"}"""), SseBody.Chunk("""{"content":"b"}""")), Chunking.Whole(asyncReads));
        using HttpClient http = stub.CreateClient();
        IAsyncEnumerable<ChatCompletionUpdate> stream = http.StreamChatCompletionAsync(StreamingCalls.ChatRequest);

        for (int enumeration = 1; enumeration <= 2; enumeration++)
        {
            await using IAsyncEnumerator<ChatCompletionUpdate> updates = stream.GetAsyncEnumerator();
            var texts = new List<string?>();
            while (await updates.MoveNextAsync())
            {
                texts.Add(updates.Current.Text);
            }

            texts.Should().Equal("a", "b");
            (await updates.MoveNextAsync()).Should().BeFalse();
            stub.Requests.Should().HaveCount(enumeration);
            stub.Responses[^1].IsDisposed.Should().BeTrue("the stream ended with [DONE]");
        }
    }

    [Fact]
    public async Task MoveNextAsync_MalformedChunkAmongBufferedOnes_ThrowsOnceAndReleasesTheResponse()
    {
        var stub = StubOpenAIHandler.Sse(ManyChunks + "data: {nope\n\n" + ManyChunks, Chunking.Whole());
        using HttpClient http = stub.CreateClient();
        IAsyncEnumerator<ChatCompletionUpdate> updates = http.StreamChatCompletionAsync(StreamingCalls.ChatRequest).GetAsyncEnumerator();
        int count = 0;

        Func<Task> readAll = async () =>
        {
            while (await updates.MoveNextAsync())
            {
                count++;
            }
        };

        (await readAll.Should().ThrowAsync<OpenAIStreamProtocolException>()).Which.EventIndex.Should().Be(8);
        count.Should().Be(8);
        stub.Response.IsDisposed.Should().BeTrue();
        (await updates.MoveNextAsync()).Should().BeFalse();
    }
}
