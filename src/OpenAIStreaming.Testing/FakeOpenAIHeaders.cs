namespace OpenAIStreaming.Testing;

/// <summary>Names of the request headers the fake server gives a meaning to.</summary>
public static class FakeOpenAIHeaders
{
    /// <summary>The header whose value identifies a logical request across its attempts: <c>x-client-request-id</c>.</summary>
    public const string ClientRequestId = "x-client-request-id";

    /// <summary>The header a retrying client may send with its own attempt number: <c>x-attempt</c> (logged, not trusted).</summary>
    public const string Attempt = "x-attempt";

    /// <summary>The header that selects faults for one request: <c>x-fake-fault</c> (syntax on <see cref="FaultRule"/>).</summary>
    public const string Fault = "x-fake-fault";

    /// <summary>The header that sets the number of answer tokens for one request: <c>x-fake-tokens</c>.</summary>
    public const string Tokens = "x-fake-tokens";

    /// <summary>The model-name prefix that selects faults from the request body: <c>fault:</c>, e.g. <c>"model":"fault:cut=3"</c>.</summary>
    public const string ModelPrefix = "fault:";
}
