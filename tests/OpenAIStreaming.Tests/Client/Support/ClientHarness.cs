using System.Text;
using OpenAIStreaming.Protocol;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Client.Support;

/// <summary>
/// An <see cref="OpenAIStreamingClient"/> over a plain <see cref="HttpClient"/> (no handler) whose transport is a
/// <see cref="ScriptedHandler"/>, driven by a <see cref="ManualTimeProvider"/>.
/// </summary>
public sealed class ClientHarness : IStreamProtectionHarness
{
    public ClientHarness(OpenAIStreamingOptions? options = null)
    {
        Time = new ManualTimeProvider();
        Stub = new ScriptedHandler(Time);
        Http = new HttpClient(Stub) { BaseAddress = new Uri("http://127.0.0.1/v1/"), Timeout = Timeout.InfiniteTimeSpan };
        Client = new OpenAIStreamingClient(Http, options ?? new OpenAIStreamingOptions(), Time);
    }

    public ManualTimeProvider Time { get; }

    public ScriptedHandler Stub { get; }

    public HttpClient Http { get; }

    public OpenAIStreamingClient Client { get; }

    /// <summary>Streams a chat completion through the wrapper and returns its text.</summary>
    public Task<string> StreamTextAsync(CancellationToken cancellationToken = default) =>
        Task.Run(() => TextOf(Client.StreamChatCompletionAsync(HandlerHarness.ChatRequest, cancellationToken)));

    public static async Task<string> TextOf(IAsyncEnumerable<ChatCompletionUpdate> updates)
    {
        var text = new StringBuilder();
        await foreach (ChatCompletionUpdate update in updates)
        {
            text.Append(update.Text);
        }

        return text.ToString();
    }

    public void Dispose() => Http.Dispose();
}
