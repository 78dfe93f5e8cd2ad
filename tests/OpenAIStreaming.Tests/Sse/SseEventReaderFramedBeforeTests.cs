using System.IO.Pipelines;
using System.Text;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Tests.Sse;

/// <summary>The events framed before the commit point: handed out first, in order and counted, then no longer held.</summary>
public sealed class SseEventReaderFramedBeforeTests
{
    [Fact]
    public async Task MoveNextAsync_PastTheEventsFramedBefore_HandsThemOutFirstThenLetsThemGo()
    {
        (SseEventReader reader, WeakReference framed) = Create();
        await using (reader)
        {
            var seen = new List<(string Data, long Index)>();
            while (await reader.MoveNextAsync(CancellationToken.None))
            {
                seen.Add((Encoding.UTF8.GetString(reader.Current.Data.Span), reader.CurrentIndex));
            }

            seen.Should().Equal(("a", 0), ("b", 1), ("c", 2), ("d", 3));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            framed.IsAlive.Should().BeFalse("an open stream keeps none of what was read before the commit point once it is handed out");
        }

        static (SseEventReader, WeakReference) Create()
        {
            List<PrefetchedEvent> before = [new("message", Encoding.UTF8.GetBytes("a")), new("message", Encoding.UTF8.GetBytes("b"))];
            var reader = new SseEventReader(PipeReader.Create(new MemoryStream(Encoding.UTF8.GetBytes("data: c\n\ndata: d\n\n"))), options: null, framedBefore: before);
            return (reader, new WeakReference(before));
        }
    }
}
