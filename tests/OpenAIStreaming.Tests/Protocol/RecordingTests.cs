using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Sse;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>The twelve real OpenAI recordings, assembled and compared with expected.json, under every chunking and line ending.</summary>
public sealed class RecordingTests
{
    public static IEnumerable<object[]> Matrix()
    {
        foreach (string name in Recordings.Names)
        {
            foreach (string variant in new[] { "whole", "trickle", "random1", "random2", "crlf", "crlf-trickle" })
            {
                yield return [name, variant];
            }
        }
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task StreamChatCompletionAsync_RealRecording_AssemblesExpectedResult(string name, string variant)
    {
        byte[] body = Recordings.Read(name);
        if (variant.StartsWith("crlf", StringComparison.Ordinal))
        {
            body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("\n", "\r\n", StringComparison.Ordinal));
        }

        ReadPattern pattern = variant switch
        {
            "trickle" or "crlf-trickle" => ReadPattern.Trickle,
            "random1" => ReadPattern.Random(1),
            "random2" => ReadPattern.Random(2),
            _ => ReadPattern.Whole,
        };
        using HttpClient http = new BodyHandler(body, pattern).CreateClient();
        var accumulator = new ChatCompletionAccumulator();
        await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync("""{"model":"gpt-4o","messages":[]}"""))
        {
            accumulator.Append(update);
        }

        int dataEvents = 0;
        await foreach (ServerSentEvent e in new ScriptedStream(body, pattern).ReadServerSentEventsAsync())
        {
            dataEvents++;
        }

        ChatCompletionResult result = accumulator.Build();
        JsonElement expected = ExpectedFor(name);
        result.Id.Should().Be(expected.GetProperty("id").GetString());
        result.Model.Should().Be(expected.GetProperty("model").GetString());
        dataEvents.Should().Be(expected.GetProperty("data_events").GetInt32());
        JsonElement usage = expected.GetProperty("usage");
        result.Usage!.InputTokens.Should().Be(usage.GetProperty("prompt_tokens").GetInt32());
        result.Usage.OutputTokens.Should().Be(usage.GetProperty("completion_tokens").GetInt32());
        result.Usage.TotalTokens.Should().Be(usage.GetProperty("total_tokens").GetInt32());
        JsonNode.DeepEquals(JsonNode.Parse(result.Usage.Json), JsonNode.Parse(usage.GetRawText())).Should().BeTrue("usage JSON passes through unchanged");

        JsonElement choices = expected.GetProperty("choices");
        result.Choices.Should().HaveCount(choices.GetArrayLength());
        foreach (JsonElement choice in choices.EnumerateArray())
        {
            ChatChoiceResult actual = result.Choices.Single(c => c.Index == choice.GetProperty("index").GetInt32());
            actual.Content.Should().Be(choice.GetProperty("content").GetString() ?? string.Empty);
            actual.Refusal.Should().Be(choice.GetProperty("refusal").GetString());
            actual.FinishReason.Should().Be(choice.GetProperty("finish_reason").GetString());
            actual.Role.Should().Be("assistant");
            JsonElement[] calls = [.. choice.GetProperty("tool_calls").EnumerateArray()];
            actual.ToolCalls.Should().HaveCount(calls.Length);
            for (int i = 0; i < calls.Length; i++)
            {
                actual.ToolCalls[i].Id.Should().Be(calls[i].GetProperty("id").GetString());
                actual.ToolCalls[i].FunctionName.Should().Be(calls[i].GetProperty("name").GetString());
                actual.ToolCalls[i].Arguments.Should().Be(calls[i].GetProperty("arguments").GetString());
                actual.ToolCalls[i].Type.Should().Be("function");
            }
        }
    }

    private static JsonElement ExpectedFor(string name)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Recordings.Directory, "expected.json")));
        return document.RootElement.GetProperty(name).Clone();
    }
}
