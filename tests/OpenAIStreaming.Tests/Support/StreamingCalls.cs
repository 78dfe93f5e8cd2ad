using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Tests.Support;

/// <summary>Runs the HttpClient extensions against a stub and collects what they deliver.</summary>
public static class StreamingCalls
{
    public const string ChatRequest = """{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}""";

    public const string ResponsesRequest = """{"model":"gpt-4o","input":"Hello"}""";

    public static async Task<Captured<ChatCompletionUpdate>> CaptureChatAsync(this StubOpenAIHandler stub)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        using HttpClient http = stub.CreateClient();
        return await http.StreamChatCompletionAsync(ChatRequest, guard.Token).CaptureAsync();
    }

    public static async Task<Captured<ResponseStreamEvent>> CaptureResponsesAsync(this StubOpenAIHandler stub)
    {
        using CancellationTokenSource guard = HangGuard.Start();
        using HttpClient http = stub.CreateClient();
        return await http.StreamResponseAsync(ResponsesRequest, guard.Token).CaptureAsync();
    }

    /// <summary>Streams a chat completion that must complete, and returns its updates and the accumulated result.</summary>
    public static async Task<(List<ChatCompletionUpdate> Updates, ChatCompletionResult Result)> ChatAsync(this StubOpenAIHandler stub)
    {
        Captured<ChatCompletionUpdate> captured = await stub.CaptureChatAsync();
        captured.Error.Should().BeNull("the stream is well-formed and complete");
        return (captured.Items.ToList(), Accumulate(captured.Items));
    }

    /// <summary>Streams a Responses body that must complete.</summary>
    public static async Task<List<ResponseStreamEvent>> ResponsesAsync(this StubOpenAIHandler stub)
    {
        Captured<ResponseStreamEvent> captured = await stub.CaptureResponsesAsync();
        captured.Error.Should().BeNull("the stream is well-formed and complete");
        return captured.Items.ToList();
    }

    public static ChatCompletionResult Accumulate(IEnumerable<ChatCompletionUpdate> updates)
    {
        var accumulator = new ChatCompletionAccumulator();
        foreach (ChatCompletionUpdate update in updates)
        {
            accumulator.Append(update);
        }

        return accumulator.Build();
    }
}
