using System.Net.Http.Headers;

namespace OpenAIStreaming.Tests.Support;

/// <summary>A request as the stub handler received it, body read to a string.</summary>
public sealed record CapturedRequest(HttpMethod Method, Uri? RequestUri, string Body, string? ContentType, HttpRequestHeaders Headers);
