using System.Net;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Client;

/// <summary>Errors before the stream: non-2xx JSON errors and 200 responses that are not event streams.</summary>
public sealed class HttpErrorTests
{
    // Verbatim from dd-cassettes completion_stream_wrong_api_key.yaml: 4-space indent, trailing newline.
    private const string InvalidApiKeyBody =
        "{\n    \"error\": {\n        \"message\": \"Incorrect API key provided: sk-wrong****-key. You can find your API key at https://platform.openai.com/account/api-keys.\",\n        \"type\": \"invalid_request_error\",\n        \"param\": null,\n        \"code\": \"invalid_api_key\"\n    }\n}\n";

    public static TheoryData<int, bool> Statuses => new()
    {
        { 400, false },
        { 401, false },
        { 403, false },
        { 404, false },
        { 408, true },
        { 409, true },
        { 422, false },
        { 429, true },
        { 500, true },
        { 502, true },
        { 503, true },
        { 504, true },
    };

    private static async Task<OpenAIStreamException> ChatErrorAsync(StubOpenAIHandler stub)
    {
        var captured = await stub.CaptureChatAsync();
        captured.Items.Should().BeEmpty();
        return captured.ErrorShouldBe<OpenAIStreamException>();
    }

    private static async Task<OpenAIStreamException> ResponsesErrorAsync(StubOpenAIHandler stub)
    {
        var captured = await stub.CaptureResponsesAsync();
        captured.Items.Should().BeEmpty();
        return captured.ErrorShouldBe<OpenAIStreamException>();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_Unauthorized_ThrowsWithEveryOpenAIErrorField()
    {
        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.Unauthorized, InvalidApiKeyBody));

        error.Should().BeOfType<OpenAIStreamException>();
        error.StatusCode.Should().Be(401);
        error.ErrorType.Should().Be("invalid_request_error");
        error.ErrorCode.Should().Be("invalid_api_key");
        error.Param.Should().BeNull();
        error.Message.Should().Be("Incorrect API key provided: sk-wrong****-key. You can find your API key at https://platform.openai.com/account/api-keys.");
        error.RequestId.Should().Be(StubOpenAIHandler.RequestId);
        error.IsRetryable.Should().BeFalse();
        error.EventIndex.Should().BeNull();
    }

    [Fact]
    public async Task StreamResponseAsync_Unauthorized_ThrowsWithEveryOpenAIErrorField()
    {
        var error = await ResponsesErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.Unauthorized, InvalidApiKeyBody));

        error.Should().BeOfType<OpenAIStreamException>();
        error.StatusCode.Should().Be(401);
        error.ErrorType.Should().Be("invalid_request_error");
        error.ErrorCode.Should().Be("invalid_api_key");
        error.RequestId.Should().Be(StubOpenAIHandler.RequestId);
        error.IsRetryable.Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(Statuses))]
    public async Task StreamChatCompletionAsync_ErrorStatus_RetryableOnlyFor408_409_429And5xx(int status, bool retryable)
    {
        string body = $$$"""{"error":{"message":"Status {{{status}}}","type":"some_error","param":null,"code":null}}""";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody((HttpStatusCode)status, body));

        error.StatusCode.Should().Be(status);
        error.IsRetryable.Should().Be(retryable);
        error.Message.Should().Be($"Status {status}");
        error.ErrorType.Should().Be("some_error");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_RateLimited_RetryableWithRateLimitFields()
    {
        const string body =
            """{"error":{"message":"Rate limit reached for gpt-4 in organization org-abc on tokens per min (TPM): Limit 10000, Used 9348, Requested 5086. Please try again in 26.604s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}""";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.TooManyRequests, body));

        error.StatusCode.Should().Be(429);
        error.IsRetryable.Should().BeTrue();
        error.ErrorType.Should().Be("tokens");
        error.ErrorCode.Should().Be("rate_limit_exceeded");
        error.Message.Should().StartWith("Rate limit reached for gpt-4");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_ServiceUnavailable_Retryable()
    {
        const string body = """{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}""";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.ServiceUnavailable, body));

        error.StatusCode.Should().Be(503);
        error.IsRetryable.Should().BeTrue();
        error.ErrorType.Should().Be("server_error");
        error.Message.Should().Be("The engine is currently overloaded, please try again later.");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_OllamaStringError_MessageIsTheString()
    {
        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.NotFound, """{"error":"model not found"}"""));

        error.StatusCode.Should().Be(404);
        error.Message.Should().Contain("model not found");
        error.ErrorCode.Should().BeNull();
        error.IsRetryable.Should().BeFalse();
    }

    [Fact]
    public async Task StreamChatCompletionAsync_AzurePromptFilterError_NullTypeAndContentFilterCode()
    {
        const string body =
            """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":true,"severity":"high"}}}}}""";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.BadRequest, body));

        error.StatusCode.Should().Be(400);
        error.ErrorType.Should().BeNull();
        error.ErrorCode.Should().Be("content_filter");
        error.Param.Should().Be("prompt");
        error.Message.Should().StartWith("The response was filtered");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_VllmErrorWithIntegerCode_CodeConvertedToString()
    {
        const string body = """{"error":{"message":"Stream options can only be defined when `stream=True`.","type":"BadRequestError","param":null,"code":400}}""";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.BadRequest, body));

        error.StatusCode.Should().Be(400);
        error.ErrorType.Should().Be("BadRequestError");
        error.ErrorCode.Should().Be("400");
        error.Message.Should().Be("Stream options can only be defined when `stream=True`.");
    }

    [Theory]
    [InlineData(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")]
    [InlineData(503, "", null)]
    [InlineData(500, "{\"message\":\"no error envelope\"}", "application/json")]
    [InlineData(400, "{\"error\":", "application/json")]
    public async Task StreamChatCompletionAsync_ErrorStatusWithoutOpenAIErrorBody_StillThrowsWithStatus(int status, string body, string? contentType)
    {
        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody((HttpStatusCode)status, body, contentType));

        error.StatusCode.Should().Be(status);
        error.IsRetryable.Should().Be(status >= 500);
        error.Message.Should().NotBeNullOrWhiteSpace();
        error.RequestId.Should().Be(StubOpenAIHandler.RequestId);
    }

    [Fact]
    public async Task StreamChatCompletionAsync_OkWithJsonErrorBody_ThrowsWithTheErrorFieldsNeverAnEmptyStream()
    {
        const string body = """{"error":{"message":"The model `gpt-5o` does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}""";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.OK, body));

        error.ErrorType.Should().Be("invalid_request_error");
        error.ErrorCode.Should().Be("model_not_found");
        error.Param.Should().Be("model");
        error.Message.Should().Be("The model `gpt-5o` does not exist");
        error.RequestId.Should().Be(StubOpenAIHandler.RequestId);
    }

    [Fact]
    public async Task StreamResponseAsync_OkWithJsonErrorBody_ThrowsWithTheErrorFields()
    {
        const string body = """{"error":{"message":"Invalid input","type":"invalid_request_error","param":"input","code":null}}""";

        var error = await ResponsesErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.OK, body));

        error.ErrorType.Should().Be("invalid_request_error");
        error.Param.Should().Be("input");
        error.Message.Should().Be("Invalid input");
    }

    [Fact]
    public async Task StreamChatCompletionAsync_OkWithNonStreamingCompletionJson_ThrowsProtocolException()
    {
        const string body =
            """{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.OK, body));

        error.Should().BeOfType<OpenAIStreamProtocolException>();
    }

    [Fact]
    public async Task StreamResponseAsync_OkWithNonStreamingResponseJson_ThrowsProtocolException()
    {
        const string body = """{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o","output":[],"usage":null}""";

        var error = await ResponsesErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.OK, body));

        error.Should().BeOfType<OpenAIStreamProtocolException>();
    }

    [Theory]
    [InlineData("text/plain; charset=utf-8")]
    [InlineData(null)]
    public async Task StreamChatCompletionAsync_OkWithJsonErrorBodyMislabelled_ThrowsWithTheErrorFieldsNotATruncation(string? contentType)
    {
        // Not an event stream either: reading it as one dispatches nothing, which must not turn a
        // non-retryable "model not found" into a retryable truncation.
        const string body = "{\n  \"error\": {\n    \"message\": \"model 'llama9' not found\",\n    \"type\": \"not_found_error\",\n    \"param\": null,\n    \"code\": \"model_not_found\"\n  }\n}\n";

        var error = await ChatErrorAsync(StubOpenAIHandler.WithBody(HttpStatusCode.OK, body, contentType));

        error.ErrorCode.Should().Be("model_not_found", $"the body carries it; got {error.GetType().Name} \"{error.Message}\" (retryable: {error.IsRetryable})");
        error.ErrorType.Should().Be("not_found_error");
        error.Message.Should().Be("model 'llama9' not found");
        error.IsRetryable.Should().BeFalse();
    }
}
