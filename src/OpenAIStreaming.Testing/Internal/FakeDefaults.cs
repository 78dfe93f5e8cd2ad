namespace OpenAIStreaming.Testing.Internal;

/// <summary>The defaults of <see cref="FakeOpenAIServerOptions"/> and of the generated answers, in one place.</summary>
internal static class FakeDefaults
{
    public const int TokenCount = 12;

    public const string ServiceTier = "default";

    public const string OpenAIVersion = "2020-10-01";

    public const string EventStreamContentType = "text/event-stream; charset=utf-8";

    public const string JsonContentType = "application/json; charset=utf-8";

    public const string Redacted = "[redacted]";

    public const string ServerErrorMessage = "The server had an error while processing your request. Sorry about that!";

    public const long RequestLimit = 10_000;

    public const long TokenLimit = 30_000_000;

    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan DefaultRetryAfterDate = TimeSpan.FromSeconds(1);

    public static readonly string[] Models = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "o4-mini"];

    public static readonly string[] LoggedHeaders =
    [
        FakeOpenAIHeaders.ClientRequestId, FakeOpenAIHeaders.Attempt, FakeOpenAIHeaders.Fault, FakeOpenAIHeaders.Tokens,
        "x-stainless-retry-count", "idempotency-key", "user-agent", "content-type", "accept", "last-event-id",
        "authorization", "api-key",
    ];

    /// <summary>The listen backlog: large, so thousands of simultaneous connection attempts are queued, not dropped.</summary>
    public const int ListenBacklog = 65_535;

    public static readonly string[] SecretHeaders = ["authorization", "api-key", "proxy-authorization", "cookie"];
}
