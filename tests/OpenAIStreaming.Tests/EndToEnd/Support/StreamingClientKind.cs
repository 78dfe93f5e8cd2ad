namespace OpenAIStreaming.Tests.EndToEnd.Support;

/// <summary>Which client reads the stream through the handler in an end-to-end test.</summary>
public enum StreamingClientKind
{
    /// <summary>This library's typed reader, <c>HttpClient.StreamChatCompletionAsync</c>.</summary>
    TypedReader,

    /// <summary>The official OpenAI SDK's <c>ChatClient.CompleteChatStreamingAsync</c>, with the handler's <see cref="HttpClient"/> as its transport.</summary>
    OfficialSdk,
}
