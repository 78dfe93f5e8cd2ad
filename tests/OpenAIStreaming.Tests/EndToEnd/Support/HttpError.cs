namespace OpenAIStreaming.Tests.EndToEnd.Support;

/// <summary>What either client reports about an HTTP error status: the status, the OpenAI <c>error.code</c> and the server's <c>x-request-id</c>.</summary>
public sealed record HttpError(int? Status, string? Code, string? RequestId);
