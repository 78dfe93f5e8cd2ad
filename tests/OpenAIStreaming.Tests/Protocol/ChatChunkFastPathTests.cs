using System.Text;
using System.Text.Json;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Sse.Internal;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>
/// The chat reader's fast path: a <c>data: </c> line with the previous chunk's shape is framed and decoded in one pass
/// inside the current buffer segment. Every case here runs it and the general path (events straddling reads, other line
/// endings, other fields) against the same expectations.
/// </summary>
public sealed class ChatChunkFastPathTests
{
    /// <summary>JSON string literal contents (escapes as sent on the wire) and what they decode to.</summary>
    private static readonly (string Json, string Text)[] Tokens =
    [
        ("Hello", "Hello"),
        (" world", " world"),
        (string.Empty, string.Empty),
        ("\\n", "\n"),
        ("a\\\"b", "a\"b"),
        ("back\\\\slash", "back\\slash"),
        ("\\t", "\t"),
        ("\\u00e9t\\u00e9", "été"),
        ("\\ud83d\\ude00", "😀"),
        ("\\/", "/"),
        ("日本語", "日本語"),
        ("🙂 café", "🙂 café"),
        ("{\\\"data\\\": 1}\\n\\n", "{\"data\": 1}\n\n"),
        ("data: x", "data: x"),
    ];

    public static TheoryData<Chunking, NewLine> ChunkingsAndNewLines
    {
        get
        {
            var data = new TheoryData<Chunking, NewLine>();
            Chunking[] chunkings = [.. Chunkings.Standard, Chunking.Fixed(4096), Chunking.Fixed(257), Chunking.Fixed(100, asyncReads: true)];
            foreach (Chunking chunking in chunkings)
            {
                foreach (NewLine newLine in Enum.GetValues<NewLine>())
                {
                    data.Add(chunking, newLine);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ChunkingsAndNewLines))]
    public async Task StreamChatCompletionAsync_ChunksOfOneShape_DecodesEveryTextAndEscape(Chunking chunking, NewLine newLine)
    {
        string body = newLine.Apply(SseBody.Chat([.. Tokens.Select(t => SseBody.Chunk($$"""{"content":"{{t.Json}}"}""")), SseBody.Chunk("{}", "\"stop\"")]));

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.Text).Should().Equal([.. Tokens.Select(t => t.Text), null]);
        updates.Should().OnlyContain(u => u.Id == "chatcmpl-1" && u.Model == "gpt-4o-2024-08-06" && u.ServiceTier == "default" && u.ChoiceIndex == 0);
        updates.Select(u => u.FinishReason).Should().Equal([.. Tokens.Select(_ => (string?)null), "stop"]);
        result.Choices.Should().ContainSingle().Which.Content.Should().Be(string.Concat(Tokens.Select(t => t.Text)));
    }

    [Theory]
    [MemberData(nameof(ChunkingsAndNewLines))]
    public async Task StreamChatCompletionAsync_ToolCallArgumentsOfOneShape_DecodesEveryPieceIntoItsOwnUpdate(Chunking chunking, NewLine newLine)
    {
        // After the tool call's first chunk (its id and name), each chunk differs from the one before only in its piece of
        // the arguments: the fused path decodes them, each into an update and a tool call update of its own.
        string header = SseBody.Chunk("""{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":""}}]}""");
        // JSON string contents as sent, and what they decode to: together the arguments are a JSON object, as they must be.
        (string Json, string Text)[] pieces =
        [
            ("{\\\"city\\\": \\\"", "{\"city\": \""),
            ("Z\\u00fcrich", "Zürich"),
            (" 日本語", " 日本語"),
            ("\\\\n", "\\n"),
            ("\\\\\\\"", "\\\""),
            ("🙂", "🙂"),
            ("\\\"}", "\"}"),
        ];
        string body = newLine.Apply(SseBody.Chat([
            header,
            .. pieces.Select(p => SseBody.Chunk($$$"""{"tool_calls":[{"index":0,"function":{"arguments":"{{{p.Json}}}"}}]}""")),
            SseBody.Chunk("{}", "\"tool_calls\"")]));

        var (updates, _) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        List<ChatToolCallUpdate> calls = [.. updates.Skip(1).Take(pieces.Length).Select(u => u.ToolCalls.Should().ContainSingle().Subject)];
        calls.Select(c => c.ArgumentsDelta).Should().Equal(pieces.Select(p => p.Text), "every piece, escapes decoded, in order");
        calls.Should().OnlyContain(c => c.Index == 0 && c.Id == null && c.FunctionName == null);
        updates.Skip(1).Take(pieces.Length).Should().OnlyContain(u => u.Text == null && u.ChoiceIndex == 0 && u.FinishReason == null);
        updates[^1].FinishReason.Should().Be("tool_calls");
    }

    [Fact]
    public void TryDecodeLine_ToolCallArgumentsAfterOneOfTheirShape_AreMatchedAsArguments()
    {
        using var decoder = new OpenAIStreaming.Protocol.Internal.ChatChunkDecoder();
        decoder.Decode(Encoding.UTF8.GetBytes(SseBody.Chunk("""{"tool_calls":[{"index":2,"function":{"arguments":"{\""}}]}""")), 0, requestId: null);
        byte[] next = Encoding.UTF8.GetBytes(SseBody.Chunk("""{"tool_calls":[{"index":2,"function":{"arguments":"city\\n"}}]}""") + "\n\n");

        decoder.TryDecodeLine(next, "\n\n"u8, out string? arguments, out _).Should().BeTrue();
        decoder.FramesArguments.Should().BeTrue();
        arguments.Should().Be("city\\n");
        ChatToolCallUpdate call = decoder.FramedUpdate(arguments!).ToolCalls.Should().ContainSingle().Subject;
        call.Index.Should().Be(2);
        call.ArgumentsDelta.Should().Be("city\\n");
        decoder.TryDecodeLine(next, "\n\n"u8, new char[64], out _, out _).Should().BeFalse("the byte path passes on content only; a tool call goes the general way");
    }

    [Theory]
    [InlineData("""{"tool_calls":[{"index":0,"function":{"arguments":"ARGS"}}],"function_call":{"name":"f"}}""")] // a later key replaces the tool call
    [InlineData("""{"tool_calls":[{"index":0,"function":{"arguments":{"x":1}}}],"function_call":{"arguments":"ARGS"}}""")] // two arguments fields
    [InlineData("""{"tool_calls":[{"index":0,"function":{"arguments":"ARGS"}},{"index":1,"function":{"arguments":""}}]}""")] // two tool calls
    [InlineData("""{"content":"","tool_calls":[{"index":0,"function":{"arguments":"ARGS"}}]}""")] // content beside it: the content varies, not these
    public void Decode_ChunkWhoseArgumentsAreNotItsOneVaryingToolCallLiteral_IsDecodedAsTheFullParserDoes(string delta)
    {
        // The same chunk with other text where "ARGS" stands, decoded once with a template taken from the first and once by
        // a decoder that has none: the updates must be the same.
        string first = SseBody.Chunk(delta.Replace("ARGS", "a", StringComparison.Ordinal));
        string second = SseBody.Chunk(delta.Replace("ARGS", "b", StringComparison.Ordinal));
        using var decoder = new OpenAIStreaming.Protocol.Internal.ChatChunkDecoder();
        using var fresh = new OpenAIStreaming.Protocol.Internal.ChatChunkDecoder();
        decoder.Decode(Encoding.UTF8.GetBytes(first), 0, requestId: null);

        decoder.Decode(Encoding.UTF8.GetBytes(second), 1, requestId: null);
        fresh.Decode(Encoding.UTF8.GetBytes(second), 1, requestId: null);

        decoder.Updates.Should().HaveSameCount(fresh.Updates);
        for (int i = 0; i < fresh.Updates.Count; i++)
        {
            decoder.Updates[i].Text.Should().Be(fresh.Updates[i].Text);
            decoder.Updates[i].ToolCalls.Should().Equal(fresh.Updates[i].ToolCalls);
        }
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_ObfuscationOfVaryingLength_DecodesEveryText(Chunking chunking)
    {
        string[] chunks = [.. Tokens.Select((t, i) => SseBody.Chunk($$"""{"content":"{{t.Json}}"}""", extra: $$""","obfuscation":"{{new string('x', i)}}" """.TrimEnd()))];

        var (updates, _) = await StubOpenAIHandler.Sse(SseBody.Chat(chunks), chunking).ChatAsync();

        updates.Select(u => u.Text).Should().Equal(Tokens.Select(t => t.Text));
    }

    [Theory]
    [MemberData(nameof(Chunkings.SyncAndAsync), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_EverySplitPoint_DecodesEveryText(bool asyncReads)
    {
        string body = SseBody.Chat([.. Tokens.Take(4).Select(t => SseBody.Chunk($$"""{"content":"{{t.Json}}"}"""))]);
        int length = Encoding.UTF8.GetByteCount(body);

        for (int split = 1; split < length; split++)
        {
            var (updates, _) = await StubOpenAIHandler.Sse(body, Chunking.SplitAt(asyncReads, split, Math.Min(split + 7, length - 1))).ChatAsync();

            updates.Select(u => u.Text).Should().Equal(Tokens.Take(4).Select(t => t.Text), $"the body is split at byte {split}");
        }
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_SameShapeWithOtherLinesAround_FramesAsTheEventStreamRulesSay(Chunking chunking)
    {
        string a = SseBody.Chunk("""{"content":"a"}""");
        string b = SseBody.Chunk("""{"content":"b"}""");
        string c = SseBody.Chunk("""{"content":"c"}""");
        string d = SseBody.Chunk("""{"content":"d"}""");
        string e = SseBody.Chunk("""{"content":"e"}""");
        string f = SseBody.Chunk("""{"content":"f"}""");
        string body =
            $"data: {a}\n\n"
            + $"data: {b}\ndata: \n\n" // a second, empty data line: the data is b + "\n", still the same chunk
            + $"data: {c} \n\n" // trailing space in the data
            + $": keep-alive\n\nid: 7\ndata: {d}\n\n"
            + $"event: message\ndata: {e}\n\n"
            + $"data:{f}\n\n" // no space after the colon
            + "data: [DONE]\n\n";

        var (updates, _) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => u.Text).Should().Equal("a", "b", "c", "d", "e", "f");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_ShapeWithLineBreakInWhiteSpace_IsFramedLineByLine(Chunking chunking)
    {
        // The first event's data spans two data: lines, so its JSON holds an LF between tokens. The second event has the same
        // bytes on one data: line... except that an LF on the wire ends the line: its data is only the first part, invalid JSON.
        string body =
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],\ndata: \"id\":\"chatcmpl-1\"}\n\n"
            + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}],\n\"id\":\"chatcmpl-1\"}\n\n"
            + SseBody.Done;

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal("a");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(1);
    }

    [Theory]
    [InlineData("\\x")]
    [InlineData("\\u12")]
    [InlineData("tab\there")]
    [InlineData("\\ud83d")]
    public async Task StreamChatCompletionAsync_SameShapeWithInvalidString_ThrowsForThatEvent(string invalidJson)
    {
        string body = SseBody.Chat(
            SseBody.Chunk("""{"content":"a"}"""),
            SseBody.Chunk("""{"content":"b"}"""),
            SseBody.Chunk($$"""{"content":"{{invalidJson}}"}"""));

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body, Chunking.Whole()).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal("a", "b");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(2);
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { (byte)'a', 0xE6, 0x97 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xC3, 0xA9, (byte)'\\', (byte)'n', 0x80 })]
    public async Task StreamChatCompletionAsync_SameShapeWithInvalidUtf8_ThrowsForThatEvent(byte[] invalid)
    {
        string[] around = SseBody.Chunk("""{"content":"#"}""").Split('#');
        byte[] body = [.. Encoding.UTF8.GetBytes(SseBody.Data(SseBody.Chunk("""{"content":"a"}""")) + "data: " + around[0]), .. invalid, .. Encoding.UTF8.GetBytes(around[1] + "\n\n" + SseBody.Done)];

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body, Chunking.Whole()).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal("a");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(2000)]
    public async Task StreamChatCompletionAsync_SameShapeWithLongText_DecodesIt(int length)
    {
        string[] texts = [new string('x', length), string.Concat(Enumerable.Repeat("é", length)), string.Concat(Enumerable.Repeat("日", length)), new string('y', length) + "\\n"];
        string body = SseBody.Chat([SseBody.Chunk("""{"content":"a"}"""), .. texts.Select(t => SseBody.Chunk($$"""{"content":"{{t}}"}"""))]);

        var (updates, _) = await StubOpenAIHandler.Sse(body, Chunking.Whole()).ChatAsync();

        updates.Select(u => u.Text).Should().Equal("a", texts[0], texts[1], texts[2], new string('y', length) + "\n");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_SameShapeWithControlCharacterInObfuscation_ThrowsForThatEvent()
    {
        string body = SseBody.Chat(
            SseBody.Chunk("""{"content":"a"}""", extra: ""","obfuscation":"abc" """.TrimEnd()),
            SseBody.Chunk("""{"content":"b"}""", extra: ""","obfuscation":"a\u0001c" """.TrimEnd()).Replace("\\u0001", "\u0001", StringComparison.Ordinal));

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body, Chunking.Whole()).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal("a");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamChatCompletionAsync_BackslashLineBreakInObfuscation_IsFramedAsTwoLinesLikeTheGeneralPath(bool oneByte)
    {
        string first = SseBody.Chunk("""{"content":"a"}""", extra: ""","obfuscation":"abc" """.TrimEnd());
        string second = SseBody.Chunk("""{"content":"b"}""", extra: ",\"obfuscation\":\"x\\\ny\"");
        string body = "data: " + first + "\n\n" + "data: " + second + "\n\n" + SseBody.Done;

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body, oneByte ? Chunking.OneByte() : Chunking.Whole()).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal("a");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(1, "the event's data ends at the line break, inside the string");
    }

    [Theory]
    [InlineData("\\q", false)]
    [InlineData("\\u12zz", false)]
    [InlineData("\\q", true)]
    [InlineData("\\", false)]
    public async Task StreamChatCompletionAsync_SameShapeWithInvalidEscapeInObfuscation_ThrowsAsTheJsonParserDoes(string escape, bool oneByte)
    {
        string first = SseBody.Chunk("""{"content":"a"}""", extra: ""","obfuscation":"abc" """.TrimEnd());
        string bad = SseBody.Chunk("""{"content":"b"}""", extra: $$""","obfuscation":"{{escape}}" """.TrimEnd());
        (await StubOpenAIHandler.Sse(SseBody.Chat(bad), Chunking.Whole()).CaptureChatAsync())
            .ErrorShouldBe<OpenAIStreamProtocolException>(); // what the general path says of that chunk alone

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(SseBody.Chat(first, bad), oneByte ? Chunking.OneByte() : Chunking.Whole()).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal("a");
        captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(1);
    }

    [Theory]
    [InlineData("\\ud83d")]
    [InlineData("\\udc00x")]
    public async Task StreamChatCompletionAsync_SameShapeWithLoneSurrogateEscape_DecodesAsTheGeneralPathDoes(string json)
    {
        // Whatever the JSON reader makes of a lone surrogate escape, the fast path must make the same of it.
        string chunk = SseBody.Chunk($$"""{"content":"{{json}}"}""");
        string body = SseBody.Chat(SseBody.Chunk("""{"content":"a"}"""), chunk);
        string? expected = null;
        Type? expectedError = null;
        try
        {
            expected = JsonDocument.Parse(chunk).RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString();
        }
        catch (InvalidOperationException ex)
        {
            expectedError = ex.GetType();
        }

        Captured<ChatCompletionUpdate> captured = await StubOpenAIHandler.Sse(body, Chunking.Whole()).CaptureChatAsync();

        if (expectedError is null)
        {
            captured.Error.Should().BeNull();
            captured.Items.Select(u => u.Text).Should().Equal("a", expected);
        }
        else
        {
            captured.Items.Select(u => u.Text).Should().Equal("a");
            captured.ErrorShouldBe<OpenAIStreamProtocolException>().EventIndex.Should().Be(1);
        }
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_ShapeChangesBetweenRuns_DecodesEveryUpdate(Chunking chunking)
    {
        const string Two = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null},{"index":1,"delta":{"content":"y"},"logprobs":null,"finish_reason":null}],"usage":null}""";
        const string Tool = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}""";
        const string Usage = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751568164,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}""";
        string Content(string text) => SseBody.Chunk($$"""{"content":"{{text}}"}""");
        string body = SseBody.Chat(
            Content("a"), Content("b"), Two, Content("c"), Content("d"), Tool, Content("e"), Content("f"),
            SseBody.Chunk("{}", "\"stop\""), SseBody.Chunk("{}", "\"stop\"", index: 1), Usage);

        var (updates, result) = await StubOpenAIHandler.Sse(body, chunking).ChatAsync();

        updates.Select(u => (u.ChoiceIndex, u.Text)).Should().Equal(
            (0, "a"), (0, "b"), (0, "x"), (1, "y"), (0, "c"), (0, "d"), (0, null), (0, "e"), (0, "f"), (0, null), (1, null), (-1, null));
        updates[6].ToolCalls.Should().ContainSingle().Which.FunctionName.Should().Be("f");
        updates[^1].Usage!.TotalTokens.Should().Be(8);
        result.Choices.Select(c => c.Content).Should().Equal("abxcdef", "y");
    }

    [Theory]
    [InlineData("\n", true)]
    [InlineData("\r\n", true)]
    [InlineData("\r", false)]
    public async Task TryPeekDataLine_AfterAnEventWithTheseLineEnds_TheNextIsFramedInOnePassWhenItEndsTheSameWay(string newLine, bool inOnePass)
    {
        // A stream with CRLF line ends (as some compatible servers and proxies send) stays on the fused path: the line end
        // it expects is the one the framer last read. A lone CR is left to the framer's line-by-line rules.
        string chunk = SseBody.Chunk("""{"content":"a"}""");
        byte[] body = Encoding.UTF8.GetBytes($"data: {chunk}{newLine}{newLine}data: {chunk}{newLine}{newLine}");
        await using var reader = new SseEventReader(System.IO.Pipelines.PipeReader.Create(new MemoryStream(body)), new ServerSentEventReaderOptions());
        (await reader.MoveNextAsync(CancellationToken.None)).Should().BeTrue();

        reader.TryPeekDataLine(out ReadOnlySpan<byte> rest).Should().BeTrue();
        bool matches = rest.Length == chunk.Length + reader.DataLineTerminator.Length && rest.EndsWith(reader.DataLineTerminator);
        matches.Should().Be(inOnePass);
        if (inOnePass)
        {
            reader.ConsumeDataLine(chunk.Length);
            reader.CurrentIndex.Should().Be(1);
            (await reader.MoveNextAsync(CancellationToken.None)).Should().BeFalse("the whole body was consumed, its line ends too");
        }
    }

    [Fact]
    public async Task ConsumeDataLine_EventOverMaxEventSize_ThrowsLikeTheFramer()
    {
        string chunk = SseBody.Chunk("""{"content":"a"}""");
        byte[] body = Encoding.UTF8.GetBytes($"data: x\n\ndata: {chunk}\n\n");
        var options = new ServerSentEventReaderOptions { MaxEventSize = chunk.Length - 1 };
        await using var reader = new SseEventReader(System.IO.Pipelines.PipeReader.Create(new MemoryStream(body)), options);
        (await reader.MoveNextAsync(CancellationToken.None)).Should().BeTrue();

        reader.TryPeekDataLine(out ReadOnlySpan<byte> rest).Should().BeTrue();
        rest.IndexOf(SseEventReader.DataLineEnd).Should().Be(chunk.Length);
        Action consume = () => reader.ConsumeDataLine(chunk.Length);

        consume.Should().Throw<OpenAIStreamProtocolException>().Which.EventIndex.Should().Be(1);
    }
    [Fact]
    public void TryDecodeLine_IntoChars_DecodesWhatTheStringVariantDecodes()
    {
        using var decoder = new OpenAIStreaming.Protocol.Internal.ChatChunkDecoder();
        decoder.Decode(Encoding.UTF8.GetBytes(SseBody.Chunk("""{"content":"first"}""")), 0, requestId: null); // the template
        char[] destination = new char[64];

        foreach ((string json, string text) in Tokens)
        {
            byte[] line = Encoding.UTF8.GetBytes(SseBody.Chunk($$"""{"content":"{{json}}"}""") + "\n\n");

            decoder.TryDecodeLine(line, "\n\n"u8, out string? asString, out int stringLength).Should().BeTrue(json);
            decoder.TryDecodeLine(line, "\n\n"u8, destination, out int written, out int charsLength).Should().BeTrue(json);

            asString.Should().Be(text);
            new string(destination, 0, written).Should().Be(text);
            charsLength.Should().Be(stringLength);
        }
    }

    [Fact]
    public void TryDecodeLine_IntoCharsTooSmall_ReturnsFalseSoTheGeneralPathTakesIt()
    {
        using var decoder = new OpenAIStreaming.Protocol.Internal.ChatChunkDecoder();
        decoder.Decode(Encoding.UTF8.GetBytes(SseBody.Chunk("""{"content":"first"}""")), 0, requestId: null);
        byte[] line = Encoding.UTF8.GetBytes(SseBody.Chunk("""{"content":"longer than four"}""") + "\n\n");

        decoder.TryDecodeLine(line, "\n\n"u8, new char[4], out _, out int length).Should().BeFalse();
        length.Should().Be(0);
    }
}
