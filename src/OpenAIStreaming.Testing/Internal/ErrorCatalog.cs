namespace OpenAIStreaming.Testing.Internal;

/// <summary>The OpenAI error (message, type, param, code) the fake sends for a status and optional code.</summary>
internal static class ErrorCatalog
{
    public static OpenAIError For(int status, string? code, string? model, TimeSpan? retryAfter = null) => (status, code) switch
    {
        (_, "context_length_exceeded") => new(
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "messages",
            code),
        (_, "content_policy_violation") => new(
            "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.",
            "invalid_request_error",
            null,
            code),
        (_, "insufficient_quota") => new(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            null,
            code),
        (_, "unsupported_stream_options") => new("Unrecognized request argument supplied: stream_options", "invalid_request_error", "stream_options", null),
        (_, "model_not_found") => new($"The model `{model}` does not exist or you do not have access to it.", "invalid_request_error", null, code),
        (429, _) => new(
            $"Rate limit reached for {model ?? "gpt-4o"} in organization org-fake on requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in {ResponseHeaders.GoDuration(retryAfter ?? TimeSpan.FromSeconds(1))}. Visit https://platform.openai.com/account/rate-limits to learn more.",
            "requests",
            null,
            code ?? "rate_limit_exceeded"),
        (401, _) => new(
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            null,
            code ?? "invalid_api_key"),
        (403, _) => new("Country, region, or territory not supported", "request_forbidden", null, code ?? "unsupported_country_region_territory"),
        (404, _) => new("Not found.", "invalid_request_error", null, code),
        (500, _) => new("The server had an error while processing your request. Sorry about that!", "server_error", null, code),
        (502, _) => new("Bad gateway.", "server_error", null, code),
        (503, _) => new("The server is overloaded or not ready yet.", "server_error", null, code),
        (504, _) => new("Gateway timeout.", "server_error", null, code),
        ( >= 500, _) => new("The server had an error while processing your request.", "server_error", null, code),
        _ => new("Invalid request.", "invalid_request_error", null, code),
    };

    public static OpenAIError AssistantPrefill() => new(
        "This model does not support assistant message prefill. The conversation must end with a user message.",
        "invalid_request_error",
        "messages",
        null);
}
