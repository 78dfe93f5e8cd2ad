using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

public sealed class ResponseEventTests
{
    private const string Created = """{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-4o","output":[],"usage":null}}""";

    [Fact]
    public async Task StreamResponseAsync_TextStream_YieldsTypedEventsUntilCompleted()
    {
        string body = SseBody.Typed(
            ("response.created", Created),
            ("response.output_item.added", """{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}}"""),
            ("response.output_text.delta", """{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel","logprobs":[],"obfuscation":"x"}"""),
            ("response.output_text.delta", """{"content_index":0,"delta":"lo 🙂","item_id":"msg_1","logprobs":[],"output_index":0,"sequence_number":3,"type":"response.output_text.delta"}"""),
            ("response.output_text.done", """{"type":"response.output_text.done","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hello 🙂","logprobs":[]}"""),
            ("response.some_future_event", """{"type":"response.some_future_event","sequence_number":5,"novel":{"a":1}}"""),
            ("response.completed", """{"type":"response.completed","sequence_number":6,"response":{"id":"resp_1","status":"completed","model":"gpt-4o","usage":{"input_tokens":13,"input_tokens_details":{"cached_tokens":2},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":25}}}"""));

        List<ResponseStreamEvent> events = await ReadAsync(body);

        events.Select(e => e.SequenceNumber).Should().Equal(0, 1, 2, 3, 4, 5, 6);
        events.Select(e => e.Kind).Should().Equal(
            ResponseStreamEventKind.Created, ResponseStreamEventKind.OutputItemAdded, ResponseStreamEventKind.OutputTextDelta,
            ResponseStreamEventKind.OutputTextDelta, ResponseStreamEventKind.OutputTextDone, ResponseStreamEventKind.Other, ResponseStreamEventKind.Completed);
        string.Concat(events.Where(e => e.Kind == ResponseStreamEventKind.OutputTextDelta).Select(e => e.Delta)).Should().Be("Hello 🙂");
        events[2].ItemId.Should().Be("msg_1");
        events[2].Json.Should().BeNull();
        events[4].Text.Should().Be("Hello 🙂");
        events[5].Type.Should().Be("response.some_future_event");
        events[5].Json.Should().Contain("novel");
        events[0].ResponseId.Should().Be("resp_1");
        events[^1].IsTerminal.Should().BeTrue();
        events[^1].Usage!.InputTokens.Should().Be(13);
        events[^1].Usage!.CachedInputTokens.Should().Be(2);
        events[^1].Usage!.ReasoningTokens.Should().Be(3);
        events[^1].Status.Should().Be("completed");
    }

    [Fact]
    public async Task StreamResponseAsync_FunctionCall_YieldsArgumentDeltasAndDone()
    {
        string body = SseBody.Typed(
            ("response.created", Created),
            ("response.function_call_arguments.delta", """{"type":"response.function_call_arguments.delta","sequence_number":1,"item_id":"fc_1","output_index":0,"delta":"{\"a\""}"""),
            ("response.function_call_arguments.delta", """{"type":"response.function_call_arguments.delta","sequence_number":2,"item_id":"fc_1","output_index":0,"delta":":1}"}"""),
            ("response.function_call_arguments.done", """{"type":"response.function_call_arguments.done","sequence_number":3,"item_id":"fc_1","name":"f","output_index":0,"arguments":"{\"a\":1}"}"""),
            ("response.completed", """{"type":"response.completed","sequence_number":4,"response":{"id":"resp_1","status":"completed"}}"""));

        List<ResponseStreamEvent> events = await ReadAsync(body);

        string.Concat(events.Where(e => e.Kind == ResponseStreamEventKind.FunctionCallArgumentsDelta).Select(e => e.Delta)).Should().Be("{\"a\":1}");
        events.Single(e => e.Kind == ResponseStreamEventKind.FunctionCallArgumentsDone).Text.Should().Be("{\"a\":1}");
    }

    [Fact]
    public async Task StreamResponseAsync_Incomplete_IsYieldedAsTerminalWithReason()
    {
        string body = SseBody.Typed(
            ("response.created", Created),
            ("response.incomplete", """{"type":"response.incomplete","sequence_number":1,"response":{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}"""));

        List<ResponseStreamEvent> events = await ReadAsync(body);

        events[^1].Kind.Should().Be(ResponseStreamEventKind.Incomplete);
        events[^1].IncompleteReason.Should().Be("max_output_tokens");
    }

    [Theory]
    [InlineData("""{"type":"error","code":"server_is_overloaded","message":"Overloaded","param":null,"sequence_number":1}""", "server_is_overloaded", "Overloaded", true)]
    [InlineData("""{"type":"error","sequence_number":1,"error":{"type":"invalid_request_error","code":"bad_thing","message":"Nope","param":"input"}}""", "bad_thing", "Nope", false)]
    public async Task StreamResponseAsync_ErrorEventFlatOrNested_ThrowsWithFields(string json, string code, string message, bool retryable)
    {
        string body = SseBody.Typed(("response.created", Created), ("error", json));

        Func<Task> read = () => ReadAsync(body);

        OpenAIStreamException error = (await read.Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.ErrorCode.Should().Be(code);
        error.Message.Should().Be(message);
        error.IsRetryable.Should().Be(retryable);
        error.EventIndex.Should().Be(1);
    }

    [Fact]
    public async Task StreamResponseAsync_ResponseFailed_ThrowsWithTheResponseError()
    {
        string body = SseBody.Typed(
            ("response.created", Created),
            ("response.failed", """{"type":"response.failed","sequence_number":1,"response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"Something broke"}}}"""));

        Func<Task> read = () => ReadAsync(body);

        OpenAIStreamException error = (await read.Should().ThrowAsync<OpenAIStreamException>()).Which;
        error.ErrorCode.Should().Be("server_error");
        error.Message.Should().Be("Something broke");
        error.IsRetryable.Should().BeTrue();
    }

    [Fact]
    public async Task StreamResponseAsync_EndWithoutTerminalEvent_ThrowsTruncated()
    {
        string body = SseBody.Typed(("response.created", Created));

        Func<Task> read = () => ReadAsync(body);

        (await read.Should().ThrowAsync<OpenAIStreamProtocolException>()).Which.IsRetryable.Should().BeTrue();
    }

    private static async Task<List<ResponseStreamEvent>> ReadAsync(string body)
    {
        using HttpClient http = new BodyHandler(body, ReadPattern.Random(3)).CreateClient();
        var events = new List<ResponseStreamEvent>();
        await foreach (ResponseStreamEvent e in http.StreamResponseAsync("""{"model":"gpt-4o","input":"hi"}"""))
        {
            events.Add(e);
        }

        return events;
    }
}
