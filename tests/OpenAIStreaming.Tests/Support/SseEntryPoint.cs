namespace OpenAIStreaming.Tests.Support;

/// <summary>Which of the three <c>ReadServerSentEventsAsync</c> overloads a test reads through.</summary>
public enum SseEntryPoint
{
    Stream,
    PipeReader,
    HttpContent,
}
