using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>
/// The WHATWG event-stream interpretation rules, each under every chunking (whole, one byte per read, random splits;
/// synchronous and asynchronous reads) and every line-ending style (LF, CRLF, CR, mixed).
/// Inputs are written with '\n' and rewritten to the style under test.
/// </summary>
public sealed class ServerSentEventReaderFieldTests
{
    private static Task<List<SseRecord>> ReadAsync(string lfText, Chunking chunking, NewLine newLine) =>
        SseReading.ReadAllAsync(newLine.Apply(lfText), chunking);

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_SeveralEvents_DispatchesEachInOrder(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data: one\n\ndata: two\n\ndata: three\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("one"), SseRecord.Message("two"), SseRecord.Message("three"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EmptyStream_DispatchesNothing(Chunking chunking)
    {
        var events = await SseReading.ReadAllAsync(string.Empty, chunking);

        events.Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_MultiLineData_JoinedWithLineFeed(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data: a\ndata: b\ndata: c\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a\nb\nc"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_DataWithAndWithoutSpace_OnlyOneLeadingSpaceRemoved(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data:x\n\ndata: x\n\ndata:  x\n\ndata: x \n\ndata:\tx\n\n", chunking, newLine);

        events.Select(e => e.Data).Should().Equal("x", "x", " x", "x ", "\tx");
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EmptyDataLine_DispatchesEventWithEmptyData(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data:\n\ndata: \n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message(string.Empty), SseRecord.Message(string.Empty));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_FieldNameWithoutColon_HasEmptyValue(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data\n\ndata\ndata\n\ndata: a\ndata\ndata: b\n\n", chunking, newLine);

        events.Select(e => e.Data).Should().Equal(string.Empty, "\n", "a\n\nb");
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_ColonsInValue_Kept(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data: {\"a\":\"b: c\"}:\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("{\"a\":\"b: c\"}:"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_CommentsAndBareColons_Ignored(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync(": comment\ndata: a\n:\ndata: b\n: another\n\n: keep-alive\n\n:\n\n:\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a\nb"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_LeadingAndRepeatedBlankLines_DispatchNothingExtra(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("\n\n\ndata: a\n\n\n\n\ndata: b\n\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a"), SseRecord.Message("b"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EventField_SetsTypeForOneEventThenResetsToMessage(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("event: response.output_text.delta\ndata: a\n\ndata: b\n\nevent: x\ndata: c\n\n", chunking, newLine);

        events.Should().Equal(new SseRecord("response.output_text.delta", "a"), SseRecord.Message("b"), new SseRecord("x", "c"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EmptyEventField_TypeIsMessage(Chunking chunking, NewLine newLine)
    {
        // WHATWG: the type changes only when the event type buffer is not the empty string.
        var events = await ReadAsync("event:\ndata: a\n\nevent: x\nevent\ndata: b\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a"), SseRecord.Message("b"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EventWithoutData_NothingDispatchedAndTypeReset(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("event: foo\n\ndata: a\n\nevent: bar\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_NoIdField_LastEventIdIsNull(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data: a\n\n", chunking, newLine);

        events.Should().ContainSingle().Which.LastEventId.Should().BeNull();
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_IdField_PersistsAcrossEvents(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n", chunking, newLine);

        events.Select(e => e.LastEventId).Should().Equal("1", "1", "2", "2");
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_IdContainingNul_Ignored(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\nid: \u0000\ndata: c\n\n", chunking, newLine);

        events.Select(e => e.LastEventId).Should().Equal("1", "1", "1");
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_EmptyIdField_ResetsToEmptyString(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("id: 1\ndata: a\n\nid:\ndata: b\n\nid: 3\ndata: c\n\nid\ndata: d\n\n", chunking, newLine);

        events.Select(e => e.LastEventId).Should().Equal("1", string.Empty, "3", string.Empty);
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_IdAlone_NothingDispatchedButIdPersists(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("id: 7\n\ndata: a\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a", lastEventId: "7"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_RetryDigits_SetsReconnectionIntervalThatPersists(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data: a\n\nretry: 3000\ndata: b\n\ndata: c\n\nretry: 0\ndata: d\n\n", chunking, newLine);

        events.Select(e => e.ReconnectionInterval).Should().Equal(null, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3), TimeSpan.Zero);
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_RetryNotAllDigits_Ignored(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync(
            "retry: 10x\ndata: a\n\nretry: 3000\ndata: b\n\nretry: 1.5\ndata: c\n\nretry: -1\ndata: d\n\nretry:  500\ndata: e\n\nretry: x10\ndata: f\n\n",
            chunking,
            newLine);

        events.Select(e => e.ReconnectionInterval).Should().Equal(
            null,
            TimeSpan.FromSeconds(3),
            TimeSpan.FromSeconds(3),
            TimeSpan.FromSeconds(3),
            TimeSpan.FromSeconds(3),
            TimeSpan.FromSeconds(3));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_RetryAlone_NothingDispatchedButIntervalPersists(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("retry: 250\n\ndata: a\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a", reconnectionInterval: TimeSpan.FromMilliseconds(250)));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_UnknownFields_Ignored(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("foo: bar\ndata: a\nbaz\nerror: {\"x\":1}\n\nfoo: bar\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("a"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_FieldNamesWithOtherCase_Ignored(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("Data: x\n\nDATA: y\nEvent: e\nID: 9\nRetry: 5\ndata: z\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("z"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_SpaceBeforeColon_FieldNameDiffersAndIsIgnored(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync("data : x\n\n data: y\n\ndata: z\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message("z"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_TrailingEventWithoutBlankLine_DiscardedAtEndOfStream(Chunking chunking, NewLine newLine)
    {
        var withLineEnd = await ReadAsync("data: a\n\ndata: b\n", chunking, newLine);
        var withoutLineEnd = await ReadAsync("data: a\n\ndata: b", chunking, newLine);

        withLineEnd.Should().Equal(SseRecord.Message("a"));
        withoutLineEnd.Should().Equal(SseRecord.Message("a"));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_AllFieldsTogether_EachEventCarriesItsState(Chunking chunking, NewLine newLine)
    {
        var events = await ReadAsync(
            ": start\nretry: 1500\nid: a-1\nevent: first\ndata: {\"n\":1}\n\ndata: line1\ndata: line2\n\nid: a-3\nevent: third\ndata:3\n\n",
            chunking,
            newLine);

        TimeSpan retry = TimeSpan.FromMilliseconds(1500);
        events.Should().Equal(
            new SseRecord("first", "{\"n\":1}", "a-1", retry),
            new SseRecord("message", "line1\nline2", "a-1", retry),
            new SseRecord("third", "3", "a-3", retry));
    }

    [Theory]
    [MemberData(nameof(Chunkings.WithNewLines), MemberType = typeof(Chunkings))]
    public async Task ReadServerSentEventsAsync_LongDataSpanningManyReads_DeliveredExactly(Chunking chunking, NewLine newLine)
    {
        string payload = string.Concat(Enumerable.Range(0, 700).Select(i => $"{i % 10}abcdefg"));

        var events = await ReadAsync($"data: {payload}\ndata: {payload}\n\n", chunking, newLine);

        events.Should().Equal(SseRecord.Message(payload + "\n" + payload));
    }
}
