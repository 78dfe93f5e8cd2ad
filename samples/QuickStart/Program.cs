// QuickStart: stream a chat answer token by token with OpenAIStreaming.
// Without OPENAI_API_KEY it talks to a small local fake endpoint; with it, to OPENAI_BASE_URL (default api.openai.com).
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using OpenAIStreaming;
using OpenAIStreaming.Protocol;
using QuickStart;

string? apiKey = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
await using LocalFakeOpenAI? local = string.IsNullOrEmpty(apiKey) ? await LocalFakeOpenAI.StartAsync() : null;

using var http = new HttpClient
{
    BaseAddress = local?.BaseAddress ?? new Uri(Environment.GetEnvironmentVariable("OPENAI_BASE_URL") ?? "https://api.openai.com/v1/"),
};
if (local is null)
{
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
}

var request = new JsonObject
{
    ["model"] = Environment.GetEnvironmentVariable("OPENAI_MODEL") ?? "gpt-4o-mini",
    ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "In one sentence: why stream model answers?" }),
};

Console.WriteLine(local is null ? $"Streaming from {http.BaseAddress} …" : $"Streaming from the local fake endpoint {http.BaseAddress} (set OPENAI_API_KEY for the real API) …");
var accumulator = new ChatCompletionAccumulator();
try
{
    await foreach (ChatCompletionUpdate update in http.StreamChatCompletionAsync(request))
    {
        Console.Write(update.Text);
        accumulator.Append(update);
    }
}
catch (OpenAIStreamException ex)
{
    Console.Error.WriteLine();
    Console.Error.WriteLine($"The stream failed: {ex.Message} (status {ex.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, code {ex.ErrorCode ?? "-"}, retryable {ex.IsRetryable})");
    return 1;
}

ChatCompletionResult result = accumulator.Build();
Console.WriteLine();
Console.WriteLine($"[model {result.Model}, finish reason {result.Choices[0].FinishReason}, {result.Choices[0].Content.Length} characters]");
return 0;
