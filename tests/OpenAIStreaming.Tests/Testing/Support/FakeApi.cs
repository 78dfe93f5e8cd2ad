using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OpenAIStreaming.Tests.Testing.Support;

/// <summary>Small plain-HttpClient helpers for talking to the fake server in tests.</summary>
public static class FakeApi
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    public static string ChatBody(string model = "gpt-4o-mini", bool stream = true, string content = "Say hello", bool includeUsage = false, Action<JsonObject>? edit = null)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
        };
        if (stream)
        {
            body["stream"] = true;
        }

        if (includeUsage)
        {
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        edit?.Invoke(body);
        return body.ToJsonString();
    }

    public static HttpRequestMessage Post(string path, string json, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        foreach ((string name, string value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    /// <summary>Sends and returns as soon as the headers are in.</summary>
    public static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    /// <summary>Reads the SSE body line by line, adding each <c>data:</c> value to <paramref name="data"/> as it arrives (so the caller keeps what came before a failure).</summary>
    public static async Task ReadDataAsync(HttpResponseMessage response, List<string> data, CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line["data: ".Length..]);
            }
        }
    }

    public static async Task<List<string>> ReadAllDataAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var data = new List<string>();
        await ReadDataAsync(response, data, cancellationToken);
        return data;
    }

    /// <summary>The concatenated <c>delta.content</c> of choice 0 in chat chunks.</summary>
    public static string ChatText(IEnumerable<string> data)
    {
        var text = new StringBuilder();
        foreach (string item in data.Where(d => d != "[DONE]"))
        {
            using var doc = JsonDocument.Parse(item);
            foreach (JsonElement choice in doc.RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("index").GetInt32() == 0 && choice.TryGetProperty("delta", out JsonElement delta)
                    && delta.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String)
                {
                    text.Append(content.GetString());
                }
            }
        }

        return text.ToString();
    }

    /// <summary>Reads the raw body chunk by chunk, as the socket delivers it.</summary>
    public static async Task<List<byte[]>> ReadChunksAsync(Stream body, CancellationToken cancellationToken)
    {
        var chunks = new List<byte[]>();
        byte[] buffer = new byte[64 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            chunks.Add(buffer[..read]);
        }

        return chunks;
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values)
        : throw new InvalidOperationException($"No header {name}.");

    public static JsonElement ErrorOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("error");

    public static MediaTypeHeaderValue? ContentType(HttpResponseMessage response) => response.Content.Headers.ContentType;
}
