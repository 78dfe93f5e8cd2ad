using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace OpenAIStreaming.Benchmarks.Readers;

/// <summary>The official OpenAI .NET SDK: <see cref="ChatClient.CompleteChatStreamingAsync(ChatMessage[])"/>, consuming <c>ContentUpdate</c> parts and each tool call's <c>FunctionArgumentsUpdate</c>.</summary>
public sealed class OfficialSdkReader : IChatTextReader
{
    private static readonly ChatMessage[] Messages = [new UserChatMessage("Write a long story.")];

    private readonly ChatClient _client;

    public OfficialSdkReader(ChatStreamData data)
        : this(new ChatStreamHandler(data))
    {
    }

    /// <summary>Reads what <paramref name="handler"/> answers (for example this library's handler over a stream).</summary>
    public OfficialSdkReader(HttpMessageHandler handler)
    {
        var options = new OpenAIClientOptions
        {
            Transport = new HttpClientPipelineTransport(new HttpClient(handler)),
            Endpoint = new Uri("http://localhost/v1/"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        _client = new ChatClient("gpt-4o", new ApiKeyCredential("sk-bench"), options);
    }

    public string Name => "OfficialSdk";

    public async Task<int> ReadAsync(StringBuilder? sink)
    {
        int total = 0;
        await foreach (var update in _client.CompleteChatStreamingAsync(Messages))
        {
            foreach (var part in update.ContentUpdate)
            {
                string text = part.Text;
                total += text.Length;
                sink?.Append(text);
            }

            foreach (var call in update.ToolCallUpdates)
            {
                if (call.FunctionArgumentsUpdate is { } argumentsUpdate && !argumentsUpdate.ToMemory().IsEmpty)
                {
                    string arguments = argumentsUpdate.ToString();
                    total += arguments.Length;
                    sink?.Append(arguments);
                }
            }
        }

        return total;
    }
}
