namespace OpenAIStreaming.Benchmarks.Readers;

/// <summary>The four readers under test, in benchmark order, over one generated stream.</summary>
public static class ChatTextReaders
{
    public static IChatTextReader[] Create(ChatStreamData data) =>
        [new OpenAIStreamingReader(data), new SseParserReader(data), new NaiveReader(data), new OfficialSdkReader(data)];
}
