using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>
/// The pipe reader every reader of the library uses over a response stream: the bytes come out as they went in, whatever
/// the read sizes and however much the caller holds; it reads only when the caller has examined everything; it holds no
/// buffer while it waits for an idle stream; and it ends, cancels and completes as a <see cref="PipeReader"/> does.
/// </summary>
public sealed class StreamBufferReaderTests
{
    public static TheoryData<int, bool> ReadSizes => new()
    {
        { 1, false }, { 7, true }, { 100, false }, { 1023, true }, { 4096, false }, { 10_000, true },
    };

    [Theory]
    [MemberData(nameof(ReadSizes))]
    public async Task ReadAsync_ConsumingUpToEachLineBreak_ReturnsTheBytesInOrder(int readSize, bool asyncReads)
    {
        byte[] data = Lines(2_000);
        var reader = new StreamBufferReader(new ChunkedStream(data, Enumerable.Repeat(readSize, data.Length).ToArray(), asyncReads), 4096, leaveOpen: false);
        var got = new List<byte>();

        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition? lineEnd;
            while ((lineEnd = buffer.PositionOf((byte)'\n')) is { } end)
            {
                got.AddRange(buffer.Slice(0, buffer.GetPosition(1, end)).ToArray());
                buffer = buffer.Slice(buffer.GetPosition(1, end));
            }

            if (result.IsCompleted)
            {
                got.AddRange(buffer.ToArray());
                reader.AdvanceTo(buffer.End);
                break;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }

        await reader.CompleteAsync();
        got.Should().Equal(data);
    }

    [Fact]
    public async Task ReadAsync_CallerHoldsMoreThanTheBuffer_GrowsAndKeepsEveryByte()
    {
        byte[] data = Lines(3_000); // far more than one 4 KiB buffer
        var reader = new StreamBufferReader(new ChunkedStream(data, Enumerable.Repeat(333, data.Length).ToArray(), asyncReads: false), 4096, leaveOpen: false);

        ReadResult result;
        while (true)
        {
            result = await reader.ReadAsync();
            if (result.IsCompleted)
            {
                break;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End); // consume nothing, want more
        }

        result.Buffer.ToArray().Should().Equal(data);
        reader.AdvanceTo(result.Buffer.End);
        reader.Complete();
    }

    [Fact]
    public async Task ReadAsync_NotEverythingExamined_ReturnsTheBufferedBytesWithoutReadingTheStream()
    {
        byte[] data = Encoding.UTF8.GetBytes("data: one\n\ndata: two\n\n");
        var stream = new ChunkedStream(data, [data.Length], asyncReads: false);
        var reader = new StreamBufferReader(stream, 4096, leaveOpen: false);

        ReadResult first = await reader.ReadAsync();
        stream.Position.Should().Be(data.Length);
        reader.AdvanceTo(first.Buffer.GetPosition(11)); // consumed and examined the first event only

        ReadResult second = await reader.ReadAsync();
        Encoding.UTF8.GetString(second.Buffer.ToArray()).Should().Be("data: two\n\n");
        second.IsCompleted.Should().BeFalse("the stream has not been read again, so its end is not known yet");
        reader.AdvanceTo(second.Buffer.End);

        ReadResult end = await reader.ReadAsync();
        end.IsCompleted.Should().BeTrue();
        end.Buffer.IsEmpty.Should().BeTrue();
        reader.Complete();
    }

    [Fact]
    public async Task ReadAsync_StreamIdle_HoldsNoBufferWhileItWaits()
    {
        var pipe = new Pipe();
        var reader = new StreamBufferReader(pipe.Reader.AsStream(), 4096, leaveOpen: false);
        await pipe.Writer.WriteAsync("data: one\n\n"u8.ToArray());

        ReadResult first = await reader.ReadAsync();
        reader.HoldsBuffer.Should().BeTrue();
        reader.AdvanceTo(first.Buffer.End);

        ValueTask<ReadResult> waiting = reader.ReadAsync();
        waiting.IsCompleted.Should().BeFalse();
        reader.HoldsBuffer.Should().BeFalse("a stream idle between tokens holds no rented buffer");

        await pipe.Writer.WriteAsync("data: two\n\n"u8.ToArray());
        ReadResult second = await waiting;
        Encoding.UTF8.GetString(second.Buffer.ToArray()).Should().Be("data: two\n\n");
        reader.AdvanceTo(second.Buffer.End);
        await pipe.Writer.CompleteAsync();
        (await reader.ReadAsync()).IsCompleted.Should().BeTrue();
        await reader.CompleteAsync();
    }

    [Fact]
    public async Task ReadAsync_EndOfStreamWithBytesLeft_IsCompletedWithThem()
    {
        byte[] data = "data: cut off"u8.ToArray();
        var reader = new StreamBufferReader(new ChunkedStream(data, [5, 100], asyncReads: true), 4096, leaveOpen: false);

        ReadResult result = await reader.ReadAsync();
        while (!result.IsCompleted)
        {
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await reader.ReadAsync();
        }

        result.Buffer.ToArray().Should().Equal(data);
        reader.AdvanceTo(result.Buffer.End);
        reader.Complete();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Complete_DisposesTheStreamUnlessLeftOpen(bool leaveOpen)
    {
        var stream = new ChunkedStream("data: x\n\n"u8.ToArray(), [9], asyncReads: false);
        var reader = new StreamBufferReader(stream, 4096, leaveOpen);
        ReadResult result = await reader.ReadAsync();
        reader.AdvanceTo(result.Buffer.End);

        await reader.CompleteAsync();

        stream.IsDisposed.Should().Be(!leaveOpen);
        Func<Task> readAgain = async () => await reader.ReadAsync();
        await readAgain.Should().ThrowAsync<InvalidOperationException>();
    }

    [Fact]
    public async Task CancelPendingRead_NextReadIsCanceledAndTheBytesStay()
    {
        var reader = new StreamBufferReader(new ChunkedStream("data: x\n\n"u8.ToArray(), [9], asyncReads: false), 4096, leaveOpen: false);
        ReadResult first = await reader.ReadAsync();
        reader.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        reader.CancelPendingRead();
        ReadResult canceled = await reader.ReadAsync();

        canceled.IsCanceled.Should().BeTrue();
        canceled.Buffer.Length.Should().Be(9);
        reader.AdvanceTo(canceled.Buffer.Start, canceled.Buffer.End);
        ReadResult next = await reader.ReadAsync();
        next.IsCanceled.Should().BeFalse();
        next.IsCompleted.Should().BeTrue();
        reader.Complete();
    }

    [Fact]
    public async Task ReadAsync_TokenCanceled_ThrowsOperationCanceled()
    {
        var pipe = new Pipe();
        var reader = new StreamBufferReader(pipe.Reader.AsStream(), 4096, leaveOpen: false);
        using var cts = new CancellationTokenSource();

        ValueTask<ReadResult> waiting = reader.ReadAsync(cts.Token);
        await cts.CancelAsync();

        Func<Task> act = async () => await waiting;
        await act.Should().ThrowAsync<OperationCanceledException>();
        await reader.CompleteAsync();
    }

    [Fact]
    public async Task AdvanceTo_PositionOfAnotherBuffer_ThrowsInvalidOperation()
    {
        var reader = new StreamBufferReader(new ChunkedStream("data: x\n\n"u8.ToArray(), [9], asyncReads: false), 4096, leaveOpen: false);
        await reader.ReadAsync();
        var foreign = new ReadOnlySequence<byte>(new byte[9]);

        Action act = () => reader.AdvanceTo(foreign.End);

        act.Should().Throw<InvalidOperationException>();
        reader.Complete();
    }

    private static byte[] Lines(int count)
    {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            text.Append("data: {\"n\":").Append(i).Append(",\"t\":\"").Append('x', i % 37).Append("\"}\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
