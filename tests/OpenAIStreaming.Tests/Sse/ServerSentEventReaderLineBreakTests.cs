using System.Text;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>Line breaks that straddle reads: a CR at the end of one read and an LF at the start of the next are one break.</summary>
public sealed class ServerSentEventReaderLineBreakTests
{
    // A spurious empty line after "event: x" would reset the type; after "data: a" it would dispatch "a" alone.
    private const string CrLfInput = "event: x\r\ndata: a\r\ndata: b\r\n\r\nid: 1\r\ndata: c\r\n\r\n";

    private static readonly SseRecord[] CrLfExpected =
    [
        new SseRecord("x", "a\nb"),
        SseRecord.Message("c", lastEventId: "1"),
    ];

    [Theory]
    [MemberData(nameof(Chunkings.SyncAndAsync), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_ReadEndsBetweenCrAndLf_CountsOneLineBreak(bool asyncReads)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(CrLfInput);
        int[] afterEachCr = bytes.Select((b, i) => (b, i)).Where(x => x.b == (byte)'\r').Select(x => x.i + 1).ToArray();

        foreach (int offset in afterEachCr)
        {
            var events = await SseReading.ReadAllAsync(bytes, Chunking.SplitAt(asyncReads, offset));
            events.Should().Equal(CrLfExpected, $"the only read boundary is after the CR at offset {offset - 1}");
        }

        var everyCrSplit = await SseReading.ReadAllAsync(bytes, Chunking.SplitAt(asyncReads, afterEachCr));
        everyCrSplit.Should().Equal(CrLfExpected, "every CR ends a read and every LF starts the next");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_CrLfInput_OneLineBreakPerPair(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync(CrLfInput, chunking);

        events.Should().Equal(CrLfExpected);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_CrCr_TwoLineBreaksDispatch(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync("data: a\r\rdata: b\r\r", chunking);

        events.Should().Equal(SseRecord.Message("a"), SseRecord.Message("b"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_LfCr_TwoLineBreaksDispatch(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync("data: a\n\rdata: b\n\r", chunking);

        events.Should().Equal(SseRecord.Message("a"), SseRecord.Message("b"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_CrLfCrLf_IsOneBlankLineNotTwo(Chunking chunking)
    {
        // "data: a" CRLF, "data: b" CRLF CRLF: if any CRLF counted as two breaks, "a" would be dispatched alone.
        var events = await SseReading.ReadAllAsync("data: a\r\ndata: b\r\n\r\n", chunking);

        events.Should().Equal(SseRecord.Message("a\nb"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_CrAtVeryEndOfStream_CompletesTheBlankLine(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync("data: a\r\r", chunking);

        events.Should().Equal(SseRecord.Message("a"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.SyncAndAsync), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_MixedLineEndingsSplitAtEveryOffset_SameEventsAsWhole(bool asyncReads)
    {
        const string input = "id: 1\r\nevent: e\rdata: x\ndata: y\r\n\r: c\r\n\ndata: z\r\r\n\nretry: 5\n\rdata: w\r\n\n";
        SseRecord[] expected =
        [
            new SseRecord("e", "x\ny", "1"),
            SseRecord.Message("z", "1"),
            SseRecord.Message("w", "1", TimeSpan.FromMilliseconds(5)),
        ];
        byte[] bytes = Encoding.UTF8.GetBytes(input);

        for (int offset = 1; offset < bytes.Length; offset++)
        {
            var events = await SseReading.ReadAllAsync(bytes, Chunking.SplitAt(asyncReads, offset));
            events.Should().Equal(expected, $"the stream was split into two reads at offset {offset}");
        }
    }
}
