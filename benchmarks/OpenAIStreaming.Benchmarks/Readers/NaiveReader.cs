using System.Text;
using System.Text.Json;

namespace OpenAIStreaming.Benchmarks.Readers;

/// <summary>What many hand-written clients do: <c>ReadLineAsync</c>, <c>data: </c> lines, one <see cref="JsonDocument"/> per event.</summary>
public sealed class NaiveReader : IChatTextReader
{
    private readonly ChatStreamData _data;

    public NaiveReader(ChatStreamData data) => _data = data;

    public string Name => "Naive";

    public Task<int> ReadAsync(StringBuilder? sink) => ReadAsync(_data.Open(), sink);

    /// <summary>Reads the chat stream <paramref name="body"/> (and disposes it), returning the number of text characters.</summary>
    public static async Task<int> ReadAsync(Stream body, StringBuilder? sink)
    {
        int total = 0;
        using var reader = new StreamReader(body);
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            string json = line.Substring("data: ".Length);
            if (json == "[DONE]")
            {
                continue;
            }

            using var document = JsonDocument.Parse(json);
            var delta = document.RootElement.GetProperty("choices")[0].GetProperty("delta");
            string? text = delta.TryGetProperty("content", out var content) ? content.GetString()
                : delta.TryGetProperty("tool_calls", out var calls) ? calls[0].GetProperty("function").GetProperty("arguments").GetString()
                : null;
            if (text is not null)
            {
                total += text.Length;
                sink?.Append(text);
            }
        }

        return total;
    }
}
