using System.Text;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>UTF-8: byte order mark handling, invalid bytes, and multi-byte characters split across reads.</summary>
public sealed class ServerSentEventReaderEncodingTests
{
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    private static byte[] Bytes(params object[] parts) =>
        parts.SelectMany(p => p is byte[] raw ? raw : Encoding.UTF8.GetBytes((string)p)).ToArray();

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_BomAtStart_Skipped(Chunking chunking, NewLine newLine)
    {
        var events = await SseReading.ReadAllAsync(Bytes(Bom, newLine.Apply("data: a\n\ndata: b\n\n")), chunking);

        events.Should().Equal(SseRecord.Message("a"), SseRecord.Message("b"));
    }

    [Theory]
    [InlineData(false, new[] { 1 })]
    [InlineData(false, new[] { 2 })]
    [InlineData(false, new[] { 1, 2 })]
    [InlineData(false, new[] { 1, 2, 3 })]
    [InlineData(true, new[] { 1 })]
    [InlineData(true, new[] { 2 })]
    [InlineData(true, new[] { 1, 2, 3 })]
    public async Task ReadServerSentEventsAsync_BomSplitAcrossReads_Skipped(bool asyncReads, int[] splitOffsets)
    {
        var events = await SseReading.ReadAllAsync(Bytes(Bom, "data: a\n\n"), Chunking.SplitAt(asyncReads, splitOffsets));

        events.Should().Equal(SseRecord.Message("a"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_SecondBomAtStart_NotStrippedSoFirstLineIsIgnored(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync(Bytes(Bom, Bom, "data: a\n\ndata: b\n\n"), chunking);

        events.Should().Equal(SseRecord.Message("b"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_BomInMiddleOfStream_NotStrippedSoThatLineIsIgnored(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync(Bytes("data: a\n\n", Bom, "data: b\n\ndata: c\n\n"), chunking);

        events.Should().Equal(SseRecord.Message("a"), SseRecord.Message("c"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_BomInsideDataValue_KeptAsData(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync(Bytes("data: a", Bom, "b\n\n"), chunking);

        events.Should().Equal(SseRecord.Message("a\uFEFFb"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_InvalidUtf8InData_DecodesAsReplacementCharacterAndKeepsRawBytes(Chunking chunking)
    {
        byte[] input = Bytes("data: a", new byte[] { 0xFF }, "b\n\ndata: x", new byte[] { 0xE2, 0x82 }, "y\n\n");

        var events = await SseReading.ReadAllAsync(input, chunking);
        var raw = await SseReading.ReadAllAsync(input, chunking, e => e.Data.ToArray());

        events.Select(e => e.Data).Should().Equal("a\uFFFDb", "x\uFFFDy");
        raw.Should().HaveCount(2);
        raw[0].Should().Equal(0x61, 0xFF, 0x62);
        raw[1].Should().Equal(0x78, 0xE2, 0x82, 0x79);
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_Data_IsTheUtf8BytesOfTheValue(Chunking chunking, NewLine newLine)
    {
        byte[] input = Encoding.UTF8.GetBytes(newLine.Apply("data: {\"t\":\"é€漢🙂\"}\ndata: 2\n\ndata:\n\n"));

        var raw = await SseReading.ReadAllAsync(input, chunking, e => e.Data.ToArray());

        raw.Should().HaveCount(2);
        raw[0].Should().Equal(Encoding.UTF8.GetBytes("{\"t\":\"é€漢🙂\"}\n2"));
        raw[1].Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(Chunkings.SyncAndAsync), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_MultiByteCharactersSplitAtEveryOffset_DecodeCorrectly(bool asyncReads)
    {
        // 2-byte é, 3-byte € and 漢, 4-byte 🙂 in data, event type and id.
        byte[] input = Encoding.UTF8.GetBytes("data: é€漢🙂\n\nevent: 漢é\nid: 🙂€\ndata: 🙂é\ndata: €\n\n");
        SseRecord[] expected =
        [
            SseRecord.Message("é€漢🙂"),
            new SseRecord("漢é", "🙂é\n€", "🙂€"),
        ];

        for (int offset = 1; offset < input.Length; offset++)
        {
            var events = await SseReading.ReadAllAsync(input, Chunking.SplitAt(asyncReads, offset));
            events.Should().Equal(expected, $"the stream was split into two reads at byte offset {offset}");
        }
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_MultiByteCharacters_DecodeCorrectlyUnderEveryChunking(Chunking chunking)
    {
        string text = string.Concat(Enumerable.Repeat("é€漢🙂", 50));

        var events = await SseReading.ReadAllAsync($"data: {text}\n\n", chunking);

        events.Should().Equal(SseRecord.Message(text));
    }
}
