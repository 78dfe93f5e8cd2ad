using OpenAIStreaming.Sse;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>
/// <see cref="ServerSentEventReaderOptions.MaxEventSize"/>. The limit is on the bytes of one event (all its lines), so the
/// inputs are chosen to hold under any reasonable counting: "at the limit" means the event's raw bytes, field names and
/// line breaks included, are exactly the limit; "over the limit" means its data alone exceeds it.
/// </summary>
public sealed class ServerSentEventReaderLimitTests
{
    private const int Limit = 64;

    private static readonly ServerSentEventReaderOptions Options = new() { MaxEventSize = Limit };

    [Fact]
    public void MaxEventSize_Default_IsOneMebibyte()
    {
        new ServerSentEventReaderOptions().MaxEventSize.Should().Be(1024 * 1024);
        ServerSentEventReaderOptions.Default.MaxEventSize.Should().Be(1024 * 1024);
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithEntryPoints), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EventLargerThanMaxEventSize_ThrowsProtocolException(Chunking chunking, SseEntryPoint entryPoint)
    {
        string big = new('x', Limit + 1);

        Func<Task> act = () => SseReading.ReadAllAsync($"data: {big}\n\n", chunking, Options, entryPoint);

        await act.Should().ThrowAsync<OpenAIStreamProtocolException>();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_ManyLinesTogetherLargerThanMaxEventSize_ThrowsProtocolException(Chunking chunking)
    {
        string line = new('y', 30);

        Func<Task> act = () => SseReading.ReadAllAsync($"data: {line}\ndata: {line}\ndata: {line}\n\n", chunking, Options);

        await act.Should().ThrowAsync<OpenAIStreamProtocolException>();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_OversizeEventAfterSmallOnes_DeliversTheSmallOnesFirst(Chunking chunking)
    {
        string input = $"data: one\n\ndata: two\n\ndata: {new string('z', Limit * 3)}\n\ndata: never\n\n";

        var captured = await SseReading.CaptureAsync(input, chunking, Options);

        captured.Items.Should().Equal(SseRecord.Message("one"), SseRecord.Message("two"));
        captured.ErrorShouldBe<OpenAIStreamProtocolException>();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_OneLongLineWithNoLineBreakYet_ThrowsWithoutWaitingForEndOfStream(Chunking chunking)
    {
        // The body never ends: the reader must fail on size, not wait for a line break or the end of the stream.
        var captured = await SseReading.CaptureAsync("data: " + new string('x', Limit * 4), chunking, Options, StreamEnd.Hang);

        captured.Items.Should().BeEmpty();
        captured.ErrorShouldBe<OpenAIStreamProtocolException>();
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_ManyLinesWithNoBlankLineYet_ThrowsWithoutWaitingForEndOfStream(Chunking chunking)
    {
        string input = string.Concat(Enumerable.Repeat("data: 0123456789\n", 20));

        var captured = await SseReading.CaptureAsync(input, chunking, Options, StreamEnd.Hang);

        captured.Items.Should().BeEmpty();
        captured.ErrorShouldBe<OpenAIStreamProtocolException>();
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithEntryPoints), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EventExactlyAtMaxEventSize_Delivered(Chunking chunking, SseEntryPoint entryPoint)
    {
        string single = new('a', Limit - "data: \n\n".Length);
        string first = new('b', 20);
        string second = new('c', Limit - "data: \ndata: \n\n".Length - first.Length);
        string input = $"data: {single}\n\ndata: {first}\ndata: {second}\n\n";

        var events = await SseReading.ReadAllAsync(input, chunking, Options, entryPoint);

        events.Should().Equal(SseRecord.Message(single), SseRecord.Message(first + "\n" + second));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_ManyEventsTogetherLargerThanMaxEventSize_AllDelivered(Chunking chunking)
    {
        string payload = new('p', Limit - "data: \n\n".Length);
        string input = string.Concat(Enumerable.Repeat($"data: {payload}\n\n", 40));

        var events = await SseReading.ReadAllAsync(input, chunking, Options);

        events.Should().HaveCount(40).And.AllBeEquivalentTo(SseRecord.Message(payload));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_LargeEventUnderDefaultLimit_Delivered(Chunking chunking)
    {
        string payload = new('q', 20_000);

        var events = await SseReading.ReadAllAsync($"data: {payload}\n\n", chunking);

        events.Should().Equal(SseRecord.Message(payload));
    }
}
