using System.Text;

namespace OpenAIStreaming.Benchmarks.Readers;

/// <summary>This library: <c>HttpClient.StreamChatCompletionAsync(requestJson)</c>, consuming <c>update.Text</c> and each tool call's <c>ArgumentsDelta</c>.</summary>
public sealed class OpenAIStreamingReader : IChatTextReader
{
    private const string RequestJson = """{"model":"gpt-4o","messages":[{"role":"user","content":"Write a long story."}],"stream":true}""";

    private readonly HttpClient _http;

    public OpenAIStreamingReader(ChatStreamData data)
        : this(new ChatStreamHandler(data))
    {
    }

    /// <summary>Reads what <paramref name="handler"/> answers (for example this library's handler over a stream).</summary>
    public OpenAIStreamingReader(HttpMessageHandler handler)
        : this(new HttpClient(handler) { BaseAddress = new Uri("http://localhost/v1/") })
    {
    }

    /// <summary>Reads through <paramref name="http"/> (for example a client from <c>AddOpenAIStreaming()</c>); it needs a base address.</summary>
    public OpenAIStreamingReader(HttpClient http)
    {
        _http = http;
    }

    public string Name => "OpenAIStreaming";

    public async Task<int> ReadAsync(StringBuilder? sink)
    {
        int total = 0;
        await foreach (var update in _http.StreamChatCompletionAsync(RequestJson))
        {
            if (update.Text is { } text)
            {
                total += text.Length;
                sink?.Append(text);
            }

            for (int i = 0; i < update.ToolCalls.Count; i++)
            {
                if (update.ToolCalls[i].ArgumentsDelta is { } arguments)
                {
                    total += arguments.Length;
                    sink?.Append(arguments);
                }
            }
        }

        return total;
    }
}
