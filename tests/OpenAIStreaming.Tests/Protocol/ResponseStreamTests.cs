using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>Responses API streams: event + data framing, sequence numbers, deltas, terminal events, no [DONE].</summary>
public sealed class ResponseStreamTests
{
    private const string Created =
        """{"type":"response.created","sequence_number":0,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","created_at":1761565462,"status":"in_progress","background":false,"error":null,"incomplete_details":null,"model":"gpt-4o-2024-08-06","output":[],"usage":null,"user":null,"metadata":{}}}""";

    private const string InProgress =
        """{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","created_at":1761565462,"status":"in_progress","error":null,"model":"gpt-4o-2024-08-06","output":[],"usage":null}}""";

    private const string CompletedUsage =
        """{"input_tokens":13,"input_tokens_details":{"cached_tokens":0},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":25}""";

    private static readonly string[] TextEvents =
    [
        Created,
        InProgress,
        """{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}}""",
        """{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}""",
        """{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Greetings","logprobs":[],"obfuscation":"mvkAadO"}""",
        // Newer captures order the keys alphabetically, so "type" is not always first.
        """{"content_index":0,"delta":", hello!","item_id":"msg_1","logprobs":[],"obfuscation":"x1","output_index":0,"sequence_number":5,"type":"response.output_text.delta"}""",
        """{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Greetings, hello!","logprobs":[]}""",
        """{"type":"response.content_part.done","sequence_number":7,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"Greetings, hello!"}}""",
        """{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Greetings, hello!"}],"role":"assistant"}}""",
        """{"type":"response.completed","sequence_number":9,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","created_at":1761565462,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-4o-2024-08-06","output":[{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Greetings, hello!"}],"role":"assistant"}],"usage":""" + CompletedUsage + ""","user":null,"metadata":{}}}""",
    ];

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_TextStream_YieldsEveryEventWithKindTypeAndSequenceNumber(Chunking chunking)
    {
        var events = await StubOpenAIHandler.Sse(SseBody.Responses(TextEvents), chunking).ResponsesAsync();

        events.Select(e => e.Kind).Should().Equal(
            ResponseStreamEventKind.Created,
            ResponseStreamEventKind.InProgress,
            ResponseStreamEventKind.OutputItemAdded,
            ResponseStreamEventKind.ContentPartAdded,
            ResponseStreamEventKind.OutputTextDelta,
            ResponseStreamEventKind.OutputTextDelta,
            ResponseStreamEventKind.OutputTextDone,
            ResponseStreamEventKind.ContentPartDone,
            ResponseStreamEventKind.OutputItemDone,
            ResponseStreamEventKind.Completed);
        events.Select(e => e.Type).Should().Equal(
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed");
        events.Select(e => e.SequenceNumber).Should().Equal(Enumerable.Range(0, 10).Select(i => (long?)i));
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_TextStream_DeltasAndDoneCarryTextAndPosition(Chunking chunking)
    {
        var events = await StubOpenAIHandler.Sse(SseBody.Responses(TextEvents), chunking).ResponsesAsync();

        var deltas = events.Where(e => e.Kind == ResponseStreamEventKind.OutputTextDelta).ToList();
        deltas.Select(e => e.Delta).Should().Equal("Greetings", ", hello!");
        deltas.Should().OnlyContain(e => e.ItemId == "msg_1" && e.OutputIndex == 0 && e.ContentIndex == 0 && e.Json == null && e.Text == null);
        ResponseStreamEvent done = events.Single(e => e.Kind == ResponseStreamEventKind.OutputTextDone);
        done.Text.Should().Be("Greetings, hello!");
        done.Text.Should().Be(string.Concat(deltas.Select(e => e.Delta)));
        done.ItemId.Should().Be("msg_1");
        done.OutputIndex.Should().Be(0);
        done.ContentIndex.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_LifecycleEvents_CarryResponseFieldsAndRawJson(Chunking chunking)
    {
        var events = await StubOpenAIHandler.Sse(SseBody.Responses(TextEvents), chunking).ResponsesAsync();

        ResponseStreamEvent created = events[0];
        created.ResponseId.Should().Be("resp_67ccd2bed1ec8190");
        created.Status.Should().Be("in_progress");
        created.Model.Should().Be("gpt-4o-2024-08-06");
        created.Usage.Should().BeNull();
        created.Json.Should().Be(Created);
        events[1].Json.Should().Be(InProgress);
        events.Where(e => e.Kind != ResponseStreamEventKind.OutputTextDelta).Should().OnlyContain(e => e.Json != null);
        events.Where(e => e.Kind != ResponseStreamEventKind.OutputTextDelta).Select(e => e.Json)
            .Should().Equal(TextEvents.Where(e => !e.Contains("output_text.delta", StringComparison.Ordinal)));

        ResponseStreamEvent completed = events[^1];
        completed.ResponseId.Should().Be("resp_67ccd2bed1ec8190");
        completed.Status.Should().Be("completed");
        completed.Model.Should().Be("gpt-4o-2024-08-06");
        completed.Usage.Should().NotBeNull();
        completed.Usage!.InputTokens.Should().Be(13);
        completed.Usage.OutputTokens.Should().Be(12);
        completed.Usage.TotalTokens.Should().Be(25);
        completed.Usage.CachedInputTokens.Should().Be(0);
        completed.Usage.ReasoningTokens.Should().Be(0);
        completed.Usage.Json.Should().Be(CompletedUsage);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_FunctionCall_ArgumentDeltasAndDone(Chunking chunking)
    {
        string body = SseBody.Responses(
            Created,
            """{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_9","name":"get_weather"}}""",
            """{"type":"response.function_call_arguments.delta","sequence_number":2,"item_id":"fc_1","output_index":0,"delta":"{\"city\":","obfuscation":"a"}""",
            """{"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"fc_1","output_index":0,"delta":"\"Paris\"}","obfuscation":"b"}""",
            """{"type":"response.function_call_arguments.done","sequence_number":4,"item_id":"fc_1","name":"get_weather","output_index":0,"arguments":"{\"city\":\"Paris\"}"}""",
            """{"type":"response.output_item.done","sequence_number":5,"output_index":0,"item":{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_9","name":"get_weather"}}""",
            """{"type":"response.completed","sequence_number":6,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","status":"completed","model":"gpt-4o-2024-08-06","output":[],"usage":{"input_tokens":40,"output_tokens":9,"total_tokens":49}}}""");

        var events = await StubOpenAIHandler.Sse(body, chunking).ResponsesAsync();

        events.Select(e => e.Kind).Should().Equal(
            ResponseStreamEventKind.Created,
            ResponseStreamEventKind.OutputItemAdded,
            ResponseStreamEventKind.FunctionCallArgumentsDelta,
            ResponseStreamEventKind.FunctionCallArgumentsDelta,
            ResponseStreamEventKind.FunctionCallArgumentsDone,
            ResponseStreamEventKind.OutputItemDone,
            ResponseStreamEventKind.Completed);
        events.Where(e => e.Kind == ResponseStreamEventKind.FunctionCallArgumentsDelta).Select(e => e.Delta)
            .Should().Equal("{\"city\":", "\"Paris\"}");
        events.Where(e => e.Kind == ResponseStreamEventKind.FunctionCallArgumentsDelta)
            .Should().OnlyContain(e => e.ItemId == "fc_1" && e.OutputIndex == 0 && e.Json == null);
        ResponseStreamEvent done = events[4];
        done.Text.Should().Be("{\"city\":\"Paris\"}");
        done.ItemId.Should().Be("fc_1");
        events[1].Json.Should().Contain("\"call_id\":\"call_9\"");
        events[^1].Usage!.TotalTokens.Should().Be(49);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_RefusalDeltasAndDone_Decoded(Chunking chunking)
    {
        string body = SseBody.Responses(
            Created,
            """{"type":"response.refusal.delta","sequence_number":1,"item_id":"msg_2","output_index":0,"content_index":0,"delta":"I can't"}""",
            """{"type":"response.refusal.delta","sequence_number":2,"item_id":"msg_2","output_index":0,"content_index":0,"delta":" help with that."}""",
            """{"type":"response.refusal.done","sequence_number":3,"item_id":"msg_2","output_index":0,"content_index":0,"refusal":"I can't help with that."}""",
            """{"type":"response.completed","sequence_number":4,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","status":"completed","model":"gpt-4o-2024-08-06","output":[],"usage":null}}""");

        var events = await StubOpenAIHandler.Sse(body, chunking).ResponsesAsync();

        events.Select(e => e.Kind).Should().Equal(
            ResponseStreamEventKind.Created,
            ResponseStreamEventKind.RefusalDelta,
            ResponseStreamEventKind.RefusalDelta,
            ResponseStreamEventKind.RefusalDone,
            ResponseStreamEventKind.Completed);
        events.Where(e => e.Kind == ResponseStreamEventKind.RefusalDelta).Select(e => e.Delta).Should().Equal("I can't", " help with that.");
        events[3].Text.Should().Be("I can't help with that.");
        events[^1].Usage.Should().BeNull("\"usage\":null is no usage");
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_BackgroundQueuedAndUnknownEventTypes_YieldedWithRawJson(Chunking chunking)
    {
        const string annotation =
            """{"type":"response.output_text.annotation.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"annotation_index":0,"annotation":{"type":"url_citation","url":"https://example.com","title":"Example"}}""";
        const string future =
            """{"type":"response.future_feature.started","sequence_number":4,"something":{"nested":[1,{"a":null}]},"future_field":true}""";
        string body = SseBody.Responses(
            Created,
            """{"type":"response.queued","sequence_number":1,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","status":"queued","background":true,"model":"gpt-4o-2024-08-06","output":[],"usage":null}}""",
            """{"type":"response.in_progress","sequence_number":2,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","status":"in_progress","model":"gpt-4o-2024-08-06","output":[],"usage":null},"unknown_field":{"x":[]}}""",
            annotation,
            future,
            """{"type":"response.completed","sequence_number":5,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","status":"completed","model":"gpt-4o-2024-08-06","output":[],"usage":null}}""");

        var events = await StubOpenAIHandler.Sse(body, chunking).ResponsesAsync();

        events.Select(e => e.Kind).Should().Equal(
            ResponseStreamEventKind.Created,
            ResponseStreamEventKind.Queued,
            ResponseStreamEventKind.InProgress,
            ResponseStreamEventKind.Other,
            ResponseStreamEventKind.Other,
            ResponseStreamEventKind.Completed);
        events[1].Status.Should().Be("queued");
        events[3].Type.Should().Be("response.output_text.annotation.added");
        events[3].Json.Should().Be(annotation);
        events[3].SequenceNumber.Should().Be(3);
        events[4].Type.Should().Be("response.future_feature.started");
        events[4].Json.Should().Be(future);
        events[4].SequenceNumber.Should().Be(4);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_Incomplete_YieldedAsTerminalEventWithReason(Chunking chunking)
    {
        string body = SseBody.Responses(
            Created,
            """{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Once upon","logprobs":[]}""",
            """{"type":"response.incomplete","sequence_number":2,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-4o-2024-08-06","output":[],"usage":{"input_tokens":5,"output_tokens":16,"total_tokens":21}}}""");

        var events = await StubOpenAIHandler.Sse(body, chunking).ResponsesAsync();

        ResponseStreamEvent last = events.Should().HaveCount(3).And.Subject.Last();
        last.Kind.Should().Be(ResponseStreamEventKind.Incomplete);
        last.Type.Should().Be("response.incomplete");
        last.IncompleteReason.Should().Be("max_output_tokens");
        last.Status.Should().Be("incomplete");
        last.Usage!.OutputTokens.Should().Be(16);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_DoneSentinelAfterTerminalEvent_Tolerated(Chunking chunking)
    {
        string body = SseBody.Responses(TextEvents) + SseBody.Done;

        var events = await StubOpenAIHandler.Sse(body, chunking).ResponsesAsync();

        events.Should().HaveCount(TextEvents.Length);
        events[^1].Kind.Should().Be(ResponseStreamEventKind.Completed);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_BodyStaysOpenAfterCompleted_EndsAtTheTerminalEvent(Chunking chunking)
    {
        var captured = await StubOpenAIHandler.Sse(SseBody.Responses(TextEvents), chunking, StreamEnd.Hang).CaptureResponsesAsync();

        captured.Error.Should().BeNull("response.completed is terminal; the body staying open must not hang the reader");
        captured.Items.Should().HaveCount(TextEvents.Length);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_DataOnlyEventsWithoutEventLines_DecodedFromTheJsonType(Chunking chunking)
    {
        // The SDKs dispatch on the JSON "type", not on the SSE event name.
        var events = await StubOpenAIHandler.Sse(SseBody.Data(TextEvents), chunking).ResponsesAsync();

        events.Select(e => e.Type).Should().Equal(TextEvents.Select(e => (string?)System.Text.Json.Nodes.JsonNode.Parse(e)!["type"]));
        events[^1].Kind.Should().Be(ResponseStreamEventKind.Completed);
        events.Where(e => e.Kind == ResponseStreamEventKind.OutputTextDelta).Select(e => e.Delta).Should().Equal("Greetings", ", hello!");
    }
}
