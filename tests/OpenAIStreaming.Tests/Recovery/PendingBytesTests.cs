using System.Buffers;
using System.Text;
using System.Text.Json;
using OpenAIStreaming.Recovery.Internal;

namespace OpenAIStreaming.Tests.Recovery;

/// <summary>What a recovering body has written for its reader: kept whole as it grows, and nothing held once handed out.</summary>
public sealed class PendingBytesTests
{
    [Fact]
    public void Write_PastTheFirstBuffer_KeepsEveryByteInOrder()
    {
        var pending = new PendingBytes();
        var expected = new List<byte>();
        for (int i = 0; i < 500; i++)
        {
            byte[] piece = Encoding.UTF8.GetBytes($"data: {{\"n\":{i}}}\n\n");
            pending.Write(piece);
            expected.AddRange(piece);
        }

        pending.WrittenCount.Should().Be(expected.Count);
        pending.WrittenSpan.ToArray().Should().Equal(expected);
    }

    [Fact]
    public void ResetWrittenCount_HandedOut_HoldsNothingAndWritesAgain()
    {
        var pending = new PendingBytes();
        pending.Write("data: a\n\n"u8);

        pending.ResetWrittenCount();

        pending.WrittenCount.Should().Be(0);
        pending.WrittenSpan.Length.Should().Be(0);
        pending.GetType().GetField("_buffer", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(pending).Should().BeOfType<byte[]>().Which.Should().BeEmpty("a stream waiting for its next event holds no buffer");
        pending.Write("data: b\n\n"u8);
        Encoding.UTF8.GetString(pending.WrittenSpan).Should().Be("data: b\n\n");
    }

    [Fact]
    public void Utf8JsonWriter_OverPendingBytes_WritesTheJson()
    {
        var pending = new PendingBytes();
        pending.Write("data: "u8);
        using (var json = new Utf8JsonWriter(pending))
        {
            json.WriteStartObject();
            json.WriteString("text", new string('é', 3000));
            json.WriteEndObject();
        }

        string written = Encoding.UTF8.GetString(pending.WrittenSpan);
        written.Should().StartWith("data: {\"text\":\"");
        JsonDocument.Parse(written["data: ".Length..]).RootElement.GetProperty("text").GetString().Should().Be(new string('é', 3000));
    }

    [Fact]
    public void Advance_PastWhatWasReserved_Throws()
    {
        var pending = new PendingBytes();
        int reserved = pending.GetSpan(10).Length;

        FluentActions.Invoking(() => pending.Advance(reserved + 1)).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => pending.Advance(-1)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
