namespace OpenAIStreaming.Tests.Support;

/// <summary>Which JSON-body overload of <c>StreamChatCompletionAsync</c> / <c>StreamResponseAsync</c> a test calls.</summary>
public enum RequestOverload
{
    JsonString,
    Utf8Bytes,
    JsonNode,
}
