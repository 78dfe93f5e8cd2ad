using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>
/// Chunks a broken or hostile server sends: nothing is lost silently. An index out of range, text that is not text, invalid
/// UTF-8 in any field: each is a typed protocol error naming the event, or is decoded — never dropped.
/// </summary>
public sealed class HostileChunkTests
{
    public static TheoryData<string> BadChoiceIndexes => new() { "-1", "-7", "1024", "2147483647", "9999999999", "1.5", "\"0\"", "true", "{}" };

    [Theory]
    [MemberData(nameof(BadChoiceIndexes))]
    public async Task StreamChatCompletionAsync_ChoiceIndexOutOfRangeOrNotAnInteger_IsAProtocolErrorNamingTheEvent(string index)
    {
        string body = SseBody.Chat(
            SseBody.Chunk("""{"role":"assistant","content":""}"""),
            SseBody.Chunk("""{"content":"lost?"}""").Replace("\"index\":0", $"\"index\":{index}", StringComparison.Ordinal),
            SseBody.Chunk("{}", "\"stop\""));

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body).CaptureChatAsync();

        captured.Items.Should().ContainSingle("only the role chunk before the bad one is delivered");
        OpenAIStreamProtocolException error = captured.ErrorShouldBe<OpenAIStreamProtocolException>();
        error.EventIndex.Should().Be(1);
        error.Message.Should().Contain("index");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1024")]
    [InlineData("2147483647")]
    public async Task StreamChatCompletionAsync_ToolCallIndexOutOfRange_IsAProtocolError(string index)
    {
        string body = SseBody.Chat(
            SseBody.Chunk("""{"role":"assistant","content":null}"""),
            SseBody.Chunk($$$"""{"tool_calls":[{"index":{{{index}}},"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}}]}"""),
            SseBody.Chunk("{}", "\"tool_calls\""));

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body).CaptureChatAsync();

        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(1);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_ChoiceIndex1023_IsTrackedForItsFinish()
    {
        // The largest index accepted is tracked like any other: a stream that never finishes it is truncated, not complete.
        string body = SseBody.Data(
            SseBody.Chunk("""{"role":"assistant","content":"a"}""", index: 0),
            SseBody.Chunk("""{"content":"b"}""", index: 1023),
            SseBody.Chunk("{}", "\"stop\"", index: 0));

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body).CaptureChatAsync();

        captured.Items.Select(u => u.ChoiceIndex).Should().Equal(0, 1023, 0);
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().Message.Should().Contain("truncated");
    }

    [Theory]
    [InlineData("""{"content":{"text":"hidden"}}""")]
    [InlineData("""{"content":["hidden"]}""")]
    [InlineData("""{"refusal":{"text":"hidden"}}""")]
    public async Task StreamChatCompletionAsync_TextThatIsAnObjectOrArray_IsAProtocolErrorNotASilentDrop(string delta)
    {
        string body = SseBody.Chat(SseBody.Chunk("""{"role":"assistant","content":""}"""), SseBody.Chunk(delta), SseBody.Chunk("{}", "\"stop\""));

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body).CaptureChatAsync();

        OpenAIStreamProtocolException error = captured.ErrorShouldBe<OpenAIStreamProtocolException>();
        error.EventIndex.Should().Be(1);
        error.Message.Should().Contain("not a string");
    }

    [Theory]
    [InlineData("""{"content":42}""", "42")]
    [InlineData("""{"content":true}""", "true")]
    [InlineData("""{"content":null}""", null)]
    public async Task StreamChatCompletionAsync_TextThatIsAScalar_IsDecodedAsItsText(string delta, string? expected)
    {
        string body = SseBody.Chat(SseBody.Chunk(delta), SseBody.Chunk("{}", "\"stop\""));

        (List<ChatCompletionUpdate> updates, _) = await StubOpenAIHandler.Sse(body).ChatAsync();

        updates[0].Text.Should().Be(expected);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_ToolCallArgumentsAsAnObject_AreDecodedAsTheirJsonText()
    {
        string body = SseBody.Chat(
            SseBody.Chunk("""{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":{"city":"Paris","n":[1,2]}}}]}"""),
            SseBody.Chunk("{}", "\"tool_calls\""));

        (_, ChatCompletionResult result) = await StubOpenAIHandler.Sse(body).ChatAsync();

        result.Choices.Single().ToolCalls.Single().Arguments.Should().Be("""{"city":"Paris","n":[1,2]}""");
    }

    public static TheoryData<string> InvalidUtf8Fields => new() { "id", "model", "system_fingerprint", "content", "role", "finish_reason" };

    [Theory]
    [MemberData(nameof(InvalidUtf8Fields))]
    public async Task StreamChatCompletionAsync_InvalidUtf8InAnyField_IsTheSameProtocolError(string field)
    {
        // 0xC3 0x28 is not UTF-8. The same bytes fail the stream whichever field they are in, never becoming U+FFFD.
        string chunk = field switch
        {
            "content" => SseBody.Chunk("""{"content":"aXb"}"""),
            "role" => SseBody.Chunk("""{"role":"aXb","content":""}"""),
            "finish_reason" => SseBody.Chunk("{}", "\"aXb\""),
            "system_fingerprint" => SseBody.Chunk("""{"content":"ok"}""").Replace("fp_1", "aXb", StringComparison.Ordinal),
            "id" => SseBody.Chunk("""{"content":"ok"}""").Replace("chatcmpl-1", "aXb", StringComparison.Ordinal),
            _ => SseBody.Chunk("""{"content":"ok"}""").Replace("gpt-4o-2024-08-06", "aXb", StringComparison.Ordinal),
        };
        byte[] body = WithInvalidUtf8(SseBody.Chat(chunk, SseBody.Chunk("{}", "\"stop\"")));

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body).CaptureChatAsync();

        captured.Items.Should().BeEmpty();
        OpenAIStreamProtocolException error = captured.ErrorShouldBe<OpenAIStreamProtocolException>();
        error.EventIndex.Should().Be(0);
        captured.Items.Should().NotContain(u => (u.Id ?? string.Empty).Contains('\uFFFD') || (u.Model ?? string.Empty).Contains('\uFFFD'));
    }

    [Fact]
    public async Task StreamResponseAsync_InvalidUtf8InTheResponseId_IsAProtocolError()
    {
        string body = SseBody.Responses(
            """{"type":"response.created","sequence_number":0,"response":{"id":"resp_aXb","status":"in_progress"}}""",
            """{"type":"response.completed","sequence_number":1,"response":{"id":"resp_1","status":"completed"}}""");

        Captured<ResponseStreamEvent> captured = await StubOpenAIHandler.Sse(WithInvalidUtf8(body)).CaptureResponsesAsync();

        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(0);
    }

    /// <summary>Replaces every 'X' by the invalid UTF-8 pair 0xC3 0x28.</summary>
    private static byte[] WithInvalidUtf8(string body)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(body);
        var bytes = new List<byte>(utf8.Length + 8);
        foreach (byte b in utf8)
        {
            if (b == (byte)'X')
            {
                bytes.Add(0xC3);
                bytes.Add(0x28);
            }
            else
            {
                bytes.Add(b);
            }
        }

        return [.. bytes];
    }
}
