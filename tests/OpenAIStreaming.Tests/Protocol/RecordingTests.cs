using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>
/// The twelve real OpenAI recordings, decoded through <c>StreamChatCompletionAsync</c> and assembled with
/// <see cref="ChatCompletionAccumulator"/>, against <c>expected.json</c>: whole, one byte per read (sync and async),
/// split at random points with fixed seeds, and with CRLF line endings substituted.
/// </summary>
public sealed class RecordingTests
{
    private static readonly Chunking[] LfChunkings =
    [
        Chunking.Whole(),
        Chunking.OneByte(),
        Chunking.OneByte(asyncReads: true),
        Chunking.Random(seed: 1, maxReadSize: 64),
        Chunking.Random(seed: 2, asyncReads: true, maxReadSize: 7),
        Chunking.Random(seed: 3, maxReadSize: 300),
    ];

    private static readonly Chunking[] CrLfChunkings =
    [
        Chunking.Whole(asyncReads: true),
        Chunking.OneByte(),
        Chunking.Random(seed: 5, maxReadSize: 16),
    ];

    public static TheoryData<string, Chunking, NewLine> Cases
    {
        get
        {
            var data = new TheoryData<string, Chunking, NewLine>();
            foreach (string name in Recordings.Names)
            {
                foreach (Chunking chunking in LfChunkings)
                {
                    data.Add(name, chunking, NewLine.Lf);
                }

                foreach (Chunking chunking in CrLfChunkings)
                {
                    data.Add(name, chunking, NewLine.CrLf);
                }
            }

            return data;
        }
    }

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (string name in Recordings.Names)
            {
                data.Add(name);
            }

            return data;
        }
    }

    private static byte[] Body(string name, NewLine newLine)
    {
        byte[] bytes = Recordings.Read(name);
        return newLine == NewLine.Lf ? bytes : Encoding.UTF8.GetBytes(newLine.Apply(Encoding.UTF8.GetString(bytes)));
    }

    [Fact]
    public void Recordings_Directory_HoldsTheTwelveRecordingsAndTheirExpectations()
    {
        System.IO.Directory.GetFiles(Recordings.Directory, "*.sse").Select(Path.GetFileName).Order()
            .Should().Equal(Recordings.Names);
        Recordings.Expected.Keys.Order().Should().Equal(Recordings.Names);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task StreamChatCompletionAsync_RealRecording_AssemblesTheExpectedCompletion(string name, Chunking chunking, NewLine newLine)
    {
        RecordingExpectation expected = Recordings.Expected[name];

        var (updates, result) = await StubOpenAIHandler.Sse(Body(name, newLine), chunking).ChatAsync();

        result.Id.Should().Be(expected.Id);
        result.Model.Should().Be(expected.Model);
        result.Choices.Select(c => new ExpectedChoice(
                c.Index,
                c.Content,
                c.Refusal,
                c.FinishReason!,
                c.ToolCalls.Select(t => new ExpectedToolCall(t.Index, t.Id!, t.FunctionName!, t.Arguments)).ToList()))
            .Should().BeEquivalentTo(expected.Choices, o => o.WithStrictOrdering());
        result.Choices.Should().OnlyContain(c => c.Role == "assistant");
        result.Choices.SelectMany(c => c.ToolCalls).Where(t => t.Type != "function").Should().BeEmpty();

        updates.Should().OnlyContain(u => u.Id == expected.Id && u.Model == expected.Model);
        updates.Where(u => u.Usage is not null).Should().ContainSingle().Which.ChoiceIndex.Should().Be(-1);
        updates[^1].ChoiceIndex.Should().Be(-1, "the usage-only chunk (choices: []) comes last, before [DONE]");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task StreamChatCompletionAsync_RealRecording_ReportsTheExpectedUsage(string name, Chunking chunking, NewLine newLine)
    {
        RecordingExpectation expected = Recordings.Expected[name];

        var (_, result) = await StubOpenAIHandler.Sse(Body(name, newLine), chunking).ChatAsync();

        result.Usage.Should().NotBeNull();
        OpenAIUsage usage = result.Usage!;
        usage.InputTokens.Should().Be((int)expected.Usage["prompt_tokens"]!);
        usage.OutputTokens.Should().Be((int)expected.Usage["completion_tokens"]!);
        usage.TotalTokens.Should().Be((int)expected.Usage["total_tokens"]!);
        usage.ReasoningTokens.Should().Be((int)expected.Usage["completion_tokens_details"]!["reasoning_tokens"]!);
        usage.CachedInputTokens.Should().BeNull("the 2024 recordings have no prompt_tokens_details");
        JsonNode.DeepEquals(JsonNode.Parse(usage.Json), expected.Usage).Should().BeTrue($"Usage.Json is the usage object, got {usage.Json}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task StreamChatCompletionAsync_RealRecording_UsageJsonIsTheExactRawText(string name)
    {
        byte[] body = Recordings.Read(name);
        var events = await SseReading.ReadAllAsync(body, Chunking.Whole());
        using JsonDocument usageChunk = JsonDocument.Parse(events[^2].Data);
        string rawUsage = usageChunk.RootElement.GetProperty("usage").GetRawText();

        var (_, result) = await StubOpenAIHandler.Sse(body, Chunking.OneByte()).ChatAsync();

        result.Usage!.Json.Should().Be(rawUsage);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ReadServerSentEventsAsync_RealRecording_DeliversTheExpectedNumberOfDataEvents(string name, Chunking chunking, NewLine newLine)
    {
        var events = await SseReading.ReadAllAsync(Body(name, newLine), chunking);

        events.Should().HaveCount(Recordings.Expected[name].DataEvents);
        events.Should().OnlyContain(e => e.EventType == "message" && e.LastEventId == null && e.ReconnectionInterval == null);
        events[^1].Data.Should().Be("[DONE]");
        events.SkipLast(1).Should().OnlyContain(e => JsonNode.Parse(e.Data, null, default) is JsonObject);
    }
}
