namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// Marks the content of a response this library's handler or wrapper produced: it checked where the answer came from (a
/// fallback may legitimately have moved the request to another origin; a redirect never does), so a reader need not check
/// again.
/// </summary>
internal interface IVouchedContent
{
}
