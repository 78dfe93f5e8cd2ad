using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>
/// Errors that arrive after 200 OK: chat <c>data: {"error":…}</c>, Responses <c>response.failed</c> and
/// <c>error</c> events in the flat and nested shapes. They throw <see cref="OpenAIStreamException"/> with the OpenAI fields,
/// after everything before them was delivered.
/// </summary>
public sealed class MidStreamErrorTests
{
    private const string ChatRole =
        """{"id":"chatcmpl-e","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""";

    private const string ChatHello =
        """{"id":"chatcmpl-e","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}]}""";

    private const string ResponseCreated =
        """{"type":"response.created","sequence_number":0,"response":{"id":"resp_e","object":"response","status":"in_progress","model":"gpt-4o","output":[],"usage":null}}""";

    private const string ResponseDelta =
        """{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel","logprobs":[]}""";

    private const string ResponseCompleted =
        """{"type":"response.completed","sequence_number":3,"response":{"id":"resp_e","object":"response","status":"completed","model":"gpt-4o","output":[],"usage":null}}""";

    public static TheoryData<string, string?, string?, string?, string, bool> ResponsesErrorEvents => new()
    {
        // Flat, as in the spec's ResponseErrorEvent.
        {
            """{"type":"error","code":"server_is_overloaded","message":"Our servers are currently overloaded. Please try again later.","param":null,"sequence_number":2}""",
            null, "server_is_overloaded", null, "Our servers are currently overloaded. Please try again later.", true
        },
        // Nested, as real OpenAI and Azure streams send it.
        {
            """{"type":"error","sequence_number":2,"error":{"type":"server_error","code":"server_error","message":"An error occurred while processing your request.","param":null}}""",
            "server_error", "server_error", null, "An error occurred while processing your request.", true
        },
        {
            """{"type":"error","sequence_number":2,"error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"Your input exceeds the context window of this model.","param":"input"}}""",
            "invalid_request_error", "context_length_exceeded", "input", "Your input exceeds the context window of this model.", false
        },
        // Both shapes at once, as a gateway should send them.
        {
            """{"type":"error","sequence_number":2,"code":"server_error","message":"Upstream failed","param":null,"error":{"type":"server_error","code":"server_error","message":"Upstream failed","param":null}}""",
            "server_error", "server_error", null, "Upstream failed", true
        },
    };

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_ErrorEventThenDone_ThrowsWithFieldsAfterDeliveringEarlierUpdates(Chunking chunking)
    {
        // As go-openai PR #396 records it, spacing included.
        string body = SseBody.Chat(
            ChatRole,
            ChatHello,
            """{"error":{"message":"The server experienced an error while processing your request. We apologize for the inconvenience!", "type":"server_error", "param":null,"code":null}}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Select(u => u.Text).Should().Equal(string.Empty, "Hel");
        OpenAIStreamException error = captured.ErrorShouldBe<OpenAIStreamException>();
        error.Should().NotBeOfType<OpenAIStreamProtocolException>("the server reported an error; the stream itself is well-formed");
        error.Should().BeEquivalentTo(new
        {
            Message = "The server experienced an error while processing your request. We apologize for the inconvenience!",
            ErrorType = "server_error",
            ErrorCode = (string?)null,
            Param = (string?)null,
            StatusCode = (int?)null, // mid-stream errors have no HTTP status of their own
            EventIndex = 2L,
            IsRetryable = true, // server_error
            RequestId = StubOpenAIHandler.RequestId,
        });
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_VllmErrorWithIntegerCode_CodeConvertedToString(Chunking chunking)
    {
        string body = SseBody.Chat(
            ChatRole,
            """{"error":{"message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Should().ContainSingle();
        captured.ErrorShouldBe<OpenAIStreamException>().Should().BeEquivalentTo(new
        {
            ErrorCode = "400",
            ErrorType = "BadRequestError",
            Message = "This model's maximum context length is 4096 tokens.",
            EventIndex = 1L,
            IsRetryable = false, // a bad request does not get better by retrying
        });
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_ErrorAsFirstEvent_ThrowsWithNothingDelivered(Chunking chunking)
    {
        string body = SseBody.Chat(
            """{"error":{"message":"Internal error","type":"InternalServerError","param":null,"code":500}}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Should().BeEmpty();
        OpenAIStreamException error = captured.ErrorShouldBe<OpenAIStreamException>();
        error.ErrorCode.Should().Be("500");
        error.ErrorType.Should().Be("InternalServerError");
        error.EventIndex.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_ResponseFailed_ThrowsWithErrorCodeAndMessage(Chunking chunking)
    {
        string body = SseBody.Responses(
            ResponseCreated,
            ResponseDelta,
            """{"type":"response.failed","sequence_number":2,"response":{"id":"resp_e","object":"response","status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."},"incomplete_details":null,"model":"gpt-4o","output":[],"usage":null}}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureResponsesAsync();

        captured.Items.Select(e => e.Kind).Should().Equal(ResponseStreamEventKind.Created, ResponseStreamEventKind.OutputTextDelta);
        OpenAIStreamException error = captured.ErrorShouldBe<OpenAIStreamException>();
        error.Should().NotBeOfType<OpenAIStreamProtocolException>();
        error.Should().BeEquivalentTo(new
        {
            ErrorCode = "server_error",
            Message = "The model failed to generate a response.",
            StatusCode = (int?)null,
            EventIndex = 2L,
            IsRetryable = true, // server_error
        });
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamResponseAsync_ResponseFailedWithInvalidPrompt_NotRetryable(Chunking chunking)
    {
        string body = SseBody.Responses(
            ResponseCreated,
            """{"type":"response.failed","sequence_number":1,"response":{"id":"resp_e","object":"response","status":"failed","error":{"code":"invalid_prompt","message":"Invalid prompt: your prompt was flagged."},"model":"gpt-4o","output":[],"usage":null}}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureResponsesAsync();

        captured.ErrorShouldBe<OpenAIStreamException>().Should().BeEquivalentTo(new
        {
            ErrorCode = "invalid_prompt",
            Message = "Invalid prompt: your prompt was flagged.",
            IsRetryable = false,
            EventIndex = 1L,
        });
    }

    [Theory]
    [MemberData(nameof(ResponsesErrorEvents))]
    public async Task StreamResponseAsync_ErrorEvent_ThrowsWithFieldsAfterDeliveringEarlierEvents(
        string errorJson, string? errorType, string? errorCode, string? param, string message, bool retryable)
    {
        foreach (Chunking chunking in Chunkings.Standard)
        {
            string body = SseBody.Responses(ResponseCreated, ResponseDelta, errorJson, ResponseCompleted);

            var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureResponsesAsync();

            captured.Items.Select(e => e.Kind).Should().Equal(
                [ResponseStreamEventKind.Created, ResponseStreamEventKind.OutputTextDelta], $"chunking {chunking}");
            OpenAIStreamException error = captured.ErrorShouldBe<OpenAIStreamException>();
            error.Should().NotBeOfType<OpenAIStreamProtocolException>();
            if (errorType is not null)
            {
                error.ErrorType.Should().Be(errorType);
            }

            error.Should().BeEquivalentTo(new
            {
                ErrorCode = errorCode,
                Param = param,
                Message = message,
                IsRetryable = retryable,
                EventIndex = 2L,
                StatusCode = (int?)null,
                RequestId = StubOpenAIHandler.RequestId,
            });
        }
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_ErrorEventWithoutDone_ThrowsTheServerErrorNotATruncation(Chunking chunking)
    {
        string body = SseBody.Data(
            ChatRole,
            """{"error":{"message":"Upstream connection lost","type":"server_error","param":null,"code":"upstream_error"}}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Should().ContainSingle();
        OpenAIStreamException error = captured.ErrorShouldBe<OpenAIStreamException>();
        error.Should().NotBeOfType<OpenAIStreamProtocolException>();
        error.Should().BeEquivalentTo(new { ErrorCode = "upstream_error", Message = "Upstream connection lost", EventIndex = 1L });
    }

    [Theory]
    [MemberData(nameof(Chunkings.All), MemberType = typeof(Chunkings))]
    public async Task StreamChatCompletionAsync_StringErrorMidStream_ThrowsWithTheStringAsMessage(Chunking chunking)
    {
        string body = SseBody.Chat(ChatRole, ChatHello, """{"error":"model runner has unexpectedly stopped"}""");

        var captured = await StubOpenAIHandler.Sse(body, chunking).CaptureChatAsync();

        captured.Items.Should().HaveCount(2);
        OpenAIStreamException error = captured.ErrorShouldBe<OpenAIStreamException>();
        error.Message.Should().Contain("model runner has unexpectedly stopped");
        error.EventIndex.Should().Be(2);
    }

    public static TheoryData<string, bool> ChatErrorRetryability => new()
    {
        { """{"error":{"message":"m","type":"server_error","param":null,"code":null}}""", true },
        { """{"error":{"message":"m","type":"server_error","param":null,"code":"upstream_error"}}""", true },
        { """{"error":{"message":"m","type":null,"param":null,"code":"server_is_overloaded"}}""", true },
        { """{"error":{"message":"m","type":null,"param":null,"code":"overloaded"}}""", true },
        { """{"error":{"message":"m","type":null,"param":null,"code":"503"}}""", true },
        { """{"error":{"message":"m","type":"tokens","param":null,"code":"rate_limit_exceeded"}}""", true },
        { """{"error":{"message":"m","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""", false },
        { """{"error":{"message":"m","type":"invalid_request_error","param":null,"code":null}}""", false },
    };

    [Theory]
    [MemberData(nameof(ChatErrorRetryability))]
    public async Task StreamChatCompletionAsync_ErrorEvent_RetryableFromTypeOrCode(string errorJson, bool retryable)
    {
        var captured = await StubOpenAIHandler.Sse(SseBody.Chat(ChatRole, errorJson)).CaptureChatAsync();

        OpenAIStreamException error = captured.ErrorShouldBe<OpenAIStreamException>();
        error.Message.Should().Be("m");
        error.IsRetryable.Should().Be(retryable, $"the error was {errorJson}");
    }
}
