using System.IO.Pipelines;
using System.Text;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>The three entry points (PipeReader, Stream, HttpContent) and cancellation.</summary>
public sealed class ServerSentEventReaderEntryPointTests
{
    private const string Input = "event: a\ndata: 1\n\nid: x\ndata: 2\ndata: 3\n\nretry: 10\ndata: {}\n\n";

    private static readonly SseRecord[] Expected =
    [
        new SseRecord("a", "1"),
        SseRecord.Message("2\n3", "x"),
        SseRecord.Message("{}", "x", TimeSpan.FromMilliseconds(10)),
    ];

    public static TheoryData<SseEntryPoint, bool> EntryPointsSyncAndAsync
    {
        get
        {
            var data = new TheoryData<SseEntryPoint, bool>();
            foreach (SseEntryPoint entryPoint in Enum.GetValues<SseEntryPoint>())
            {
                data.Add(entryPoint, false);
                data.Add(entryPoint, true);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithEntryPoints), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EachEntryPoint_DeliversTheSameEvents(Chunking chunking, SseEntryPoint entryPoint)
    {
        var events = await SseReading.ReadAllAsync(Input, chunking, entryPoint: entryPoint);

        events.Should().Equal(Expected);
    }

    [Theory]
    [MemberData(nameof(EntryPointsSyncAndAsync))]
    public async Task ReadServerSentEventsAsync_TokenCancelledWhileWaitingForData_ThrowsOperationCanceled(SseEntryPoint entryPoint, bool asyncReads)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);
        await using ChunkedStream stream = Chunking.Whole(asyncReads).Open(Encoding.UTF8.GetBytes("data: first\n\n"), StreamEnd.Hang);
        var received = new List<string>();

        Func<Task> act = async () =>
        {
            await foreach (ServerSentEvent e in SseReading.ReadAsync(stream, entryPoint, null, cts.Token))
            {
                received.Add(e.GetDataString());
                await cts.CancelAsync();
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        received.Should().Equal("first");
        guard.IsCancellationRequested.Should().BeFalse("the test's own token, not the hang guard, must end the read");
    }

    [Theory]
    [MemberData(nameof(EntryPointsSyncAndAsync))]
    public async Task ReadServerSentEventsAsync_TokenAlreadyCancelled_ThrowsOperationCanceledBeforeAnyEvent(SseEntryPoint entryPoint, bool asyncReads)
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await using ChunkedStream stream = Chunking.Whole(asyncReads).Open(Encoding.UTF8.GetBytes(Input));
        var received = new List<string>();

        Func<Task> act = async () =>
        {
            await foreach (ServerSentEvent e in SseReading.ReadAsync(stream, entryPoint, null, cts.Token))
            {
                received.Add(e.GetDataString());
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        received.Should().BeEmpty();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadServerSentEventsAsync_TokenPassedThroughWithCancellation_IsHonoured(bool asyncReads)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);
        await using ChunkedStream stream = Chunking.Whole(asyncReads).Open(Encoding.UTF8.GetBytes("data: first\n\n"), StreamEnd.Hang);
        var received = new List<string>();

        Func<Task> act = async () =>
        {
            await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync().WithCancellation(cts.Token))
            {
                received.Add(e.GetDataString());
                await cts.CancelAsync();
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        received.Should().Equal("first");
        guard.IsCancellationRequested.Should().BeFalse("the token given to WithCancellation must end the read");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReadServerSentEventsAsync_PipeReaderWithManyEvents_DeliversAllOfThem(bool asyncReads)
    {
        string input = string.Concat(Enumerable.Range(0, 500).Select(i => $"data: {{\"i\":{i}}}\n\n"));
        using CancellationTokenSource guard = HangGuard.Start();
        await using ChunkedStream stream = Chunking.Random(11, asyncReads, 300).Open(Encoding.UTF8.GetBytes(input));
        PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64, minimumReadSize: 16));
        var data = new List<string>();

        await foreach (ServerSentEvent e in reader.ReadServerSentEventsAsync(cancellationToken: guard.Token))
        {
            data.Add(e.GetDataString());
        }

        data.Should().Equal(Enumerable.Range(0, 500).Select(i => $"{{\"i\":{i}}}"));
    }
}
