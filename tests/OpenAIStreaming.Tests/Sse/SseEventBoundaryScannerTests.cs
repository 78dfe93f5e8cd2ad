using System.Text;
using OpenAIStreaming.Sse.Internal;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>The boundary scanner that bounds event streams read through the handler by readers other than this library's.</summary>
public sealed class SseEventBoundaryScannerTests
{
    private const int Max = 64;

    [Theory]
    [InlineData("data: {0}\n\n")]    // the space after the colon is not data
    [InlineData("data:{0}\n\n")]
    [InlineData("data:{0}\r\n\r\n")]
    public void Scan_AnEventOfExactlyTheMaximumData_Passes(string template)
    {
        var scanner = new SseEventBoundaryScanner(Max, requestId: null);
        byte[] bytes = Encoding.UTF8.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, new string('x', Max)));

        scanner.Scan(bytes).Should().Be(bytes.Length);
        scanner.EventCount.Should().Be(1);
    }

    [Fact]
    public void Scan_OneByteOfDataMoreThanTheMaximum_IsATypedError()
    {
        var scanner = new SseEventBoundaryScanner(Max, requestId: "req_1");
        byte[] bytes = Encoding.UTF8.GetBytes($"data: {new string('x', Max + 1)}\n\n");

        OpenAIStreamProtocolException error = FluentActions.Invoking(() => scanner.Scan(bytes)).Should().Throw<OpenAIStreamProtocolException>().Which;
        error.Message.Should().Contain("maximum event size");
        error.RequestId.Should().Be("req_1");
    }

    [Fact]
    public void Scan_DataLinesAreJoinedByALineFeed_WhichCounts()
    {
        // Two lines of Max / 2 are Max / 2 * 2 + 1 bytes of data: one more than the maximum.
        var scanner = new SseEventBoundaryScanner(Max, requestId: null);
        string half = new('x', Max / 2);

        FluentActions.Invoking(() => scanner.Scan(Encoding.UTF8.GetBytes($"data: {half}\ndata: {half}\n\n"))).Should().Throw<OpenAIStreamProtocolException>();
    }

    [Fact]
    public void Scan_AnEventSplitAcrossReads_IsCountedAsAWhole()
    {
        var scanner = new SseEventBoundaryScanner(Max, requestId: null);
        byte[] bytes = Encoding.UTF8.GetBytes($"da");
        scanner.Scan(bytes).Should().Be(-1);
        scanner.Scan(Encoding.UTF8.GetBytes("ta:")).Should().Be(-1);
        scanner.Scan(Encoding.UTF8.GetBytes(" " + new string('x', Max - 1))).Should().Be(-1);
        scanner.Scan(Encoding.UTF8.GetBytes("y")).Should().Be(-1);

        FluentActions.Invoking(() => scanner.Scan(Encoding.UTF8.GetBytes("z\n"))).Should().Throw<OpenAIStreamProtocolException>();
    }

    [Fact]
    public void Scan_ManyEventsEachUnderTheMaximum_NeverAddUp()
    {
        var scanner = new SseEventBoundaryScanner(Max, requestId: null);
        byte[] bytes = Encoding.UTF8.GetBytes($": keep-alive\nevent: delta\ndata: {new string('x', Max)}\n\n");

        for (int i = 0; i < 100; i++)
        {
            scanner.Scan(bytes).Should().Be(bytes.Length);
        }

        scanner.EventCount.Should().Be(100);
    }

    [Fact]
    public void Scan_CommentsAndBlankLinesWithoutAnEvent_AreBoundedAtTwiceTheMaximum()
    {
        var scanner = new SseEventBoundaryScanner(Max, requestId: null);
        byte[] ping = Encoding.UTF8.GetBytes(": ping\n\n");

        FluentActions.Invoking(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                scanner.Scan(ping);
            }
        }).Should().Throw<OpenAIStreamProtocolException>().Which.Message.Should().Contain("without completing an event");
    }

    [Theory]
    [InlineData("data: [DONE]\n\n", true)]
    [InlineData("data:[DONE]\r\n\r\n", true)]
    [InlineData("event: response.completed\ndata: {}\n\n", true)]
    [InlineData("event:response.incomplete\ndata: {}\n\n", true)]
    [InlineData("event: response.failed\ndata: {}\n\n", true)]
    [InlineData("event: error\ndata: {}\n\n", true)]
    [InlineData("data: {\"choices\":[]}\n\n", false)]
    [InlineData("data: [DONE] \n\n", false)]
    [InlineData("event: response.output_text.delta\ndata: {}\n\n", false)]
    [InlineData(": [DONE]\n\n", false)]
    public void SawEnd_OnlyForTheStreamsOwnEnd(string stream, bool end)
    {
        var scanner = new SseEventBoundaryScanner(Max, requestId: null);
        byte[] bytes = Encoding.UTF8.GetBytes("data: {}\n\n" + stream);

        foreach (byte b in bytes)
        {
            scanner.Scan([b]); // one byte at a time: the line's kind is known however it arrives
        }

        scanner.SawEnd.Should().Be(end);
    }
}
