using System.IO.Pipelines;
using System.Text;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Sse;

public sealed class ServerSentEventReaderTests
{
    public sealed record Expected(string Type, string Data, string? Id = null, int? RetryMs = null);

    /// <summary>Each case is written with "\n" line breaks; the matrix substitutes every line-ending style.</summary>
    private static readonly (string Name, string Input, Expected[] Events)[] Cases =
    [
        ("single", "data: hello\n\n", [new("message", "hello")]),
        ("two events", "data: a\n\ndata: b\n\n", [new("message", "a"), new("message", "b")]),
        ("multi-line data", "data: a\ndata: b\ndata:\n\n", [new("message", "a\nb\n")]),
        ("no space after colon", "data:x\n\n", [new("message", "x")]),
        ("only one space removed", "data:  x\n\n", [new("message", " x")]),
        ("empty data line", "data:\n\n", [new("message", "")]),
        ("field without colon", "data\n\n", [new("message", "")]),
        ("comments ignored", ": ping\n:\ndata: x\n: in between\n\n", [new("message", "x")]),
        ("event type for one event", "event: delta\ndata: 1\n\ndata: 2\n\n", [new("delta", "1"), new("message", "2")]),
        ("event without data dispatches nothing", "event: foo\n\ndata: x\n\n", [new("message", "x")]),
        ("id persists", "id: 7\ndata: a\n\ndata: b\n\n", [new("message", "a", "7"), new("message", "b", "7")]),
        ("id alone dispatches nothing", "id: 9\n\ndata: a\n\n", [new("message", "a", "9")]),
        ("id with NUL ignored", "id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n", [new("message", "a", "1"), new("message", "b", "1")]),
        ("empty id resets", "id: 1\ndata: a\n\nid\ndata: b\n\n", [new("message", "a", "1"), new("message", "b", "")]),
        ("retry digits only", "retry: 3000\ndata: a\n\nretry: 10x\ndata: b\n\n", [new("message", "a", null, 3000), new("message", "b", null, 3000)]),
        ("retry alone dispatches nothing", "retry: 5\n\ndata: a\n\n", [new("message", "a", null, 5)]),
        ("unknown and case-different fields ignored", "foo: bar\nData: no\ndata: yes\n\n", [new("message", "yes")]),
        ("trailing event without blank line discarded", "data: a\n\ndata: b\n", [new("message", "a")]),
        ("colon in value kept", "data: {\"a\":1}\n\n", [new("message", "{\"a\":1}")]),
        ("utf8 text", "data: é€漢🙂\n\n", [new("message", "é€漢🙂")]),
    ];

    public static IEnumerable<object[]> Matrix()
    {
        foreach ((string name, _, _) in Cases)
        {
            foreach (string ending in new[] { "LF", "CRLF", "CR" })
            {
                foreach (ReadPattern pattern in ReadPattern.All())
                {
                    yield return [name, ending, pattern.Name];
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task ReadServerSentEventsAsync_WhatwgRule_DispatchesExpectedEvents(string caseName, string ending, string patternName)
    {
        (_, string input, Expected[] expected) = Cases.Single(c => c.Name == caseName);
        string newline = ending switch { "CRLF" => "\r\n", "CR" => "\r", _ => "\n" };
        byte[] bytes = Encoding.UTF8.GetBytes(input.Replace("\n", newline, StringComparison.Ordinal));
        ReadPattern pattern = ReadPattern.All().Single(p => p.Name == patternName);

        List<Expected> events = await ReadAllAsync(new ScriptedStream(bytes, pattern, asynchronous: patternName == "trickle"));

        events.Should().Equal(expected);
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_CrAtEndOfReadAndLfAtStartOfNext_IsOneLineBreak()
    {
        byte[] bytes = "data: a\r\n\r\ndata: b\r\n\r\n"u8.ToArray();
        for (int split = 1; split < bytes.Length; split++)
        {
            List<Expected> events = await ReadAllAsync(new ScriptedStream(bytes, ReadPattern.SplitAt(split)));
            events.Should().Equal([new Expected("message", "a"), new Expected("message", "b")], $"split at {split}");
        }
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_TwoCrs_AreTwoLineBreaks()
    {
        List<Expected> events = await ReadAllAsync(new ScriptedStream("data: a\r\rdata: b\r\r"u8.ToArray(), ReadPattern.Trickle));

        events.Should().Equal(new Expected("message", "a"), new Expected("message", "b"));
    }

    [Theory]
    [InlineData("whole")]
    [InlineData("trickle")]
    public async Task ReadServerSentEventsAsync_BomAtStart_IsSkipped(string patternName)
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "data: a\n\n"u8];
        ReadPattern pattern = patternName == "whole" ? ReadPattern.Whole : ReadPattern.Trickle;

        List<Expected> events = await ReadAllAsync(new ScriptedStream(bytes, pattern));

        events.Should().Equal(new Expected("message", "a"));
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_BomInTheMiddle_IsNotStripped()
    {
        byte[] bytes = [.. "data: a\n\n"u8, 0xEF, 0xBB, 0xBF, .. "data: b\n\ndata: c\n\n"u8];

        List<Expected> events = await ReadAllAsync(new ScriptedStream(bytes, ReadPattern.Whole));

        events.Should().Equal(new Expected("message", "a"), new Expected("message", "c"));
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_MultiByteCharacterSplitAtEveryOffset_DecodesIntact()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("data: aé€漢🙂z\n\ndata: 🚀\n\n");
        for (int split = 1; split < bytes.Length; split++)
        {
            List<Expected> events = await ReadAllAsync(new ScriptedStream(bytes, ReadPattern.SplitAt(split)));
            events.Should().Equal([new Expected("message", "aé€漢🙂z"), new Expected("message", "🚀")], $"split at {split}");
        }
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_InvalidUtf8_DecodesAsReplacementCharacter()
    {
        byte[] bytes = [.. "data: a"u8, 0xFF, 0xC3, .. "b\n\n"u8];

        List<Expected> events = await ReadAllAsync(new ScriptedStream(bytes, ReadPattern.Trickle));

        events.Should().Equal(new Expected("message", "a\uFFFD\uFFFDb"));
    }

    [Theory]
    [InlineData("whole")]
    [InlineData("trickle")]
    public async Task ReadServerSentEventsAsync_EventAboveMaxEventSize_ThrowsProtocolException(string patternName)
    {
        var options = new ServerSentEventReaderOptions { MaxEventSize = 64 };
        string data = new('x', 65);
        ReadPattern pattern = patternName == "whole" ? ReadPattern.Whole : ReadPattern.Trickle;
        var stream = new ScriptedStream(Encoding.UTF8.GetBytes($"data: ok\n\ndata: {data}\n\n"), pattern);

        var received = new List<string>();
        Func<Task> read = async () =>
        {
            await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync(options))
            {
                received.Add(e.GetDataString());
            }
        };

        (await read.Should().ThrowAsync<OpenAIStreamProtocolException>()).Which.EventIndex.Should().Be(1);
        received.Should().Equal("ok");
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_MultiLineEventAboveMaxEventSize_Throws()
    {
        var options = new ServerSentEventReaderOptions { MaxEventSize = 64 };
        string line = "data: " + new string('x', 30) + "\n";
        var stream = new ScriptedStream(Encoding.UTF8.GetBytes(line + line + line + "\n"), ReadPattern.Fixed(5));

        Func<Task> read = async () =>
        {
            await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync(options))
            {
                _ = e.Data;
            }
        };

        await read.Should().ThrowAsync<OpenAIStreamProtocolException>();
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_LongLineWithoutNewlineYet_ThrowsBeforeBufferingItAll()
    {
        var options = new ServerSentEventReaderOptions { MaxEventSize = 1024 };
        var stream = new ScriptedStream(Encoding.UTF8.GetBytes("data: " + new string('x', 100_000)), ReadPattern.Fixed(512));

        Func<Task> read = async () =>
        {
            await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync(options))
            {
                _ = e.Data;
            }
        };

        await read.Should().ThrowAsync<OpenAIStreamProtocolException>();
        stream.Position.Should().BeLessThan(4096, "the reader stops soon after the line passes the limit");
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_EventExactlyAtMaxEventSize_IsRead()
    {
        var options = new ServerSentEventReaderOptions { MaxEventSize = 64 };
        string data = new('x', 64);
        var stream = new ScriptedStream(Encoding.UTF8.GetBytes($"data: {data}\n\n"), ReadPattern.Trickle);

        var received = new List<string>();
        await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync(options))
        {
            received.Add(e.GetDataString());
        }

        received.Should().Equal(data);
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_PipeReaderAndHttpContent_ReadTheSameEvents()
    {
        byte[] bytes = "event: e\ndata: 1\n\ndata: 2\n\n"u8.ToArray();
        var fromPipe = new List<string>();
        await foreach (ServerSentEvent e in PipeReader.Create(new MemoryStream(bytes)).ReadServerSentEventsAsync())
        {
            fromPipe.Add(e.EventType + ":" + e.GetDataString());
        }

        var fromContent = new List<string>();
        using var content = new StreamContent(new ScriptedStream(bytes, ReadPattern.Trickle));
        await foreach (ServerSentEvent e in content.ReadServerSentEventsAsync())
        {
            fromContent.Add(e.EventType + ":" + e.GetDataString());
        }

        fromPipe.Should().Equal("e:1", "message:2");
        fromContent.Should().Equal(fromPipe);
    }

    [Fact]
    public async Task ReadServerSentEventsAsync_CancelledToken_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        var stream = new ScriptedStream("data: 1\n\ndata: 2\n\n"u8.ToArray(), ReadPattern.Trickle, asynchronous: true);

        Func<Task> read = async () =>
        {
            await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync(cancellationToken: cts.Token))
            {
                await cts.CancelAsync();
            }
        };

        await read.Should().ThrowAsync<OperationCanceledException>();
    }

    private static async Task<List<Expected>> ReadAllAsync(Stream stream)
    {
        var events = new List<Expected>();
        await foreach (ServerSentEvent e in stream.ReadServerSentEventsAsync())
        {
            events.Add(new Expected(e.EventType, e.GetDataString(), e.LastEventId, e.ReconnectionInterval is { } r ? (int)r.TotalMilliseconds : null));
        }

        return events;
    }
}
