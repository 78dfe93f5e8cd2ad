using System.Text;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Tests.Streaming;

/// <summary>Which events commit a stream: the first that carries content.</summary>
public sealed class ContentDetectorTests
{
    [Theory]
    [InlineData("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""")]
    [InlineData("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":null},"finish_reason":null}]}""")]
    [InlineData("""{"id":"","object":"","created":0,"model":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}],"choices":[],"usage":null}""")]
    [InlineData("""{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[]},"finish_reason":null}]}""")]
    [InlineData("""{"type":"response.created","sequence_number":0,"response":{"id":"resp_1"}}""")]
    [InlineData("""{"type":"response.in_progress","sequence_number":1}""")]
    [InlineData("""{"type":"response.output_item.added","sequence_number":2,"item":{"content":"x"}}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":""},"finish_reason":null}]}""")]
    [InlineData("")]
    public void Classify_EventsWithoutContent_DoNotCommit(string data) =>
        ContentDetector.Classify(Encoding.UTF8.GetBytes(data)).Should().Be(EventContent.None);

    [Theory]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"refusal":"No"},"finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""")]
    [InlineData("""{"choices":[{"index":0,"text":"legacy","finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":1,"delta":{"role":"assistant","content":""}},{"index":0,"delta":{"content":"x"}}]}""")]
    [InlineData("""{"error":{"message":"overloaded","type":"server_error"}}""")]
    [InlineData("""{"type":"response.output_text.delta","sequence_number":4,"delta":"Hi"}""")]
    [InlineData("""{"type":"response.function_call_arguments.delta","delta":"{"}""")]
    [InlineData("""{"type":"response.completed","response":{"id":"resp_1"}}""")]
    [InlineData("""{"type":"response.failed","response":{"error":{"code":"server_error"}}}""")]
    [InlineData("""{"type":"error","code":"server_error","message":"boom"}""")]
    [InlineData("[DONE]")]
    [InlineData("""{"type":"response.reasoning_summary_text.delta","delta":"thinking"}""")]
    [InlineData("""{"type":"response.reasoning_text.delta","delta":"thinking"}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"reasoning_content":"Let me think"},"finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"reasoning":"Let me think"},"finish_reason":null}]}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{"audio":{"id":"a","data":"AAA="}},"finish_reason":null}]}""")]
    public void Classify_EventsWithContent_Commit(string data) =>
        ContentDetector.Classify(Encoding.UTF8.GetBytes(data)).Should().Be(EventContent.Content);

    [Theory]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"tru""")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    public void Classify_MalformedEvents_AreABreak(string data) =>
        ContentDetector.Classify(Encoding.UTF8.GetBytes(data)).Should().Be(EventContent.Malformed);
}
