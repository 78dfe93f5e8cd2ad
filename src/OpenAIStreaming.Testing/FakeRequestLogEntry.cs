namespace OpenAIStreaming.Testing;

/// <summary>One request the fake server received, as recorded in <see cref="FakeOpenAIServer.Requests"/>.</summary>
/// <param name="Attempt">The 1-based attempt number within the logical request.</param>
/// <param name="LogicalRequestId">The key attempts are counted under (see <see cref="FakeRequest.LogicalRequestId"/>).</param>
/// <param name="Elapsed">The time from server start to the arrival of the request, on the server's <see cref="TimeProvider"/>.</param>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The path, e.g. <c>/v1/chat/completions</c>.</param>
/// <param name="Query">The query string including its <c>?</c>, or an empty string.</param>
/// <param name="Model">The requested model, or <see langword="null"/>.</param>
/// <param name="Faults">The faults applied to the request; empty when it was served normally.</param>
/// <param name="Headers">The logged request headers (<see cref="FakeOpenAIServerOptions.LoggedHeaders"/>); credentials are stored as <c>[redacted]</c>.</param>
/// <param name="BodySha256">The lower-case hex SHA-256 of the request body bytes.</param>
/// <param name="Body">The request body as text.</param>
public sealed record FakeRequestLogEntry(
    int Attempt,
    string LogicalRequestId,
    TimeSpan Elapsed,
    string Method,
    string Path,
    string Query,
    string? Model,
    IReadOnlyList<Fault> Faults,
    IReadOnlyDictionary<string, string> Headers,
    string BodySha256,
    string Body);
