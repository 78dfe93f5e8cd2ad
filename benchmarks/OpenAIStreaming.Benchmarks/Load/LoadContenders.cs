using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using OpenAIStreaming.Benchmarks.Readers;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>
/// What every contender sends: one user message, as a streaming chat completion, to one of <see cref="Models"/> (stream
/// i asks for model i mod N), all behind one endpoint.
/// </summary>
/// <param name="BaseAddress">The fake server's API base, ending in <c>/v1/</c>.</param>
/// <param name="ModelCount">How many models the streams share out.</param>
public sealed record LoadTarget(Uri BaseAddress, int ModelCount = 1)
{
    public const string Model = "gpt-4o-mini";

    public const string Prompt = "Tell me a story about load tests.";

    /// <summary>Gets the models asked for: <c>gpt-4o-mini</c>, then <c>gpt-4o-mini-2</c>, <c>gpt-4o-mini-3</c>, ….</summary>
    public IReadOnlyList<string> Models { get; } = [.. Enumerable.Range(1, ModelCount).Select(NameOf)];

    /// <summary>The request of the raw and the typed contender for model <paramref name="model"/> (the SDK writes its own, with the same model and message).</summary>
    public string RequestJson(int model) =>
        $$"""{"model":"{{Models[model]}}","messages":[{"role":"user","content":"{{Prompt}}"}],"stream":true}""";

    private static string NameOf(int number) => number == 1 ? Model : $"{Model}-{number}";
}

/// <summary>
/// One way of reading chat streams, with one <see cref="HttpClient"/> shared by all the streams of a run (as an
/// application would share it). A fresh instance per run, disposed after it, so no run inherits another's connections.
/// </summary>
public abstract class LoadContender : IAsyncDisposable
{
    /// <summary>Sends one streaming request and hands every text delta to <paramref name="probe"/>; throws what the client throws.</summary>
    public abstract Task StreamAsync(StreamProbe probe, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

/// <summary>The four contenders of <c>--load</c>, by command-line key.</summary>
public static class LoadContenders
{
    public static readonly IReadOnlyList<string> Keys = ["raw", "sdk", "sdk-handler", "typed"];

    /// <summary>Every contender: <see cref="Keys"/> (the default run) and <c>typed-direct</c>, the typed reader without the handler, to tell the reader's cost from the handler's.</summary>
    public static readonly IReadOnlyList<string> AllKeys = [.. Keys, "typed-direct"];

    public static string DisplayName(string key) => key switch
    {
        "raw" => "raw HttpClient + SseParser",
        "sdk" => "OpenAI SDK 2.15",
        "sdk-handler" => "OpenAI SDK 2.15 + handler",
        "typed" => "StreamChatCompletionAsync + handler",
        "typed-direct" => "StreamChatCompletionAsync, no handler",
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "Unknown contender."),
    };

    /// <summary>Whether the contender goes through <see cref="OpenAIStreamingHandler"/> (its TTFT p99 is compared with the raw row's).</summary>
    public static bool UsesHandler(string key) => key is "sdk-handler" or "typed";

    public static LoadContender Create(string key, LoadTarget target) => key switch
    {
        "raw" => new RawSseContender(target),
        "sdk" => new SdkContender(new HttpClient(new SocketsHttpHandler()), scope: null, target),
        "sdk-handler" => SdkContender.ThroughHandler(target),
        "typed" => new TypedContender(target),
        "typed-direct" => new TypedContender(new HttpClient(new SocketsHttpHandler()) { BaseAddress = target.BaseAddress }, target),
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "Unknown contender."),
    };

    /// <summary>
    /// A service provider with <c>AddHttpClient(…).AddOpenAIStreaming()</c> and nothing else (DI defaults), and a client
    /// from it. The returned scope also disposes the primary handlers the factory built for the client: the factory keeps
    /// a handler for two minutes and disposing the provider does not dispose it, so without this every run would leave
    /// its N idle connections open (and 10,000 of them twice over exhausts the open-file limit). Observing the primary
    /// handler changes nothing in it.
    /// </summary>
    internal static (HandlerClientScope Scope, HttpClient Http) CreateHandlerClient(Uri baseAddress)
    {
        var scope = new HandlerClientScope();
        var services = new ServiceCollection();
        services.AddHttpClient("openai", c => c.BaseAddress = baseAddress)
            .AddOpenAIStreaming()
            .ConfigurePrimaryHttpMessageHandler((handler, _) => scope.Track(handler));
        scope.Provider = services.BuildServiceProvider();
        return (scope, scope.Provider.GetRequiredService<IHttpClientFactory>().CreateClient("openai"));
    }
}

/// <summary>The service provider of a handler contender and the primary handlers its factory built.</summary>
internal sealed class HandlerClientScope : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentBag<HttpMessageHandler> _primaryHandlers = [];

    public ServiceProvider? Provider { get; set; }

    public void Track(HttpMessageHandler handler) => _primaryHandlers.Add(handler);

    public async ValueTask DisposeAsync()
    {
        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }

        foreach (var handler in _primaryHandlers)
        {
            handler.Dispose();
        }
    }
}

/// <summary>
/// <see cref="HttpClient"/> over a default <see cref="SocketsHttpHandler"/>, the body read with the runtime's
/// <see cref="SseParser"/> and the item parser of <see cref="SseParserReader"/> (<see cref="System.Text.Json.Utf8JsonReader"/>
/// to <c>choices[0].delta.content</c>).
/// </summary>
public sealed class RawSseContender : LoadContender
{
    private static readonly SseItemParser<string?> ItemParser = static (_, data) => SseParserReader.ParseContent(data);
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;
    private readonly byte[][] _bodies;

    public RawSseContender(LoadTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        _http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = target.BaseAddress };
        _bodies = [.. Enumerable.Range(0, target.ModelCount).Select(m => Encoding.UTF8.GetBytes(target.RequestJson(m)))];
    }

    public override async Task StreamAsync(StreamProbe probe, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var content = new ByteArrayContent(_bodies[probe.Model]);
        content.Headers.ContentType = Json;
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = content };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(stream, ItemParser).EnumerateAsync(cancellationToken))
        {
            probe.OnText(item.Data);
        }
    }

    public override ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The official SDK: <see cref="ChatClient.CompleteChatStreamingAsync(IEnumerable{ChatMessage}, ChatCompletionOptions, CancellationToken)"/>
/// over <see cref="HttpClientPipelineTransport"/>, SDK retries off, no SDK network timeout.
/// </summary>
public sealed class SdkContender : LoadContender
{
    private static readonly ChatMessage[] Messages = [new UserChatMessage(LoadTarget.Prompt)];

    private readonly HttpClient _http;
    private readonly HandlerClientScope? _scope;
    private readonly ChatClient[] _clients; // one per model, as an application has

    internal SdkContender(HttpClient http, HandlerClientScope? scope, LoadTarget target)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(target);
        _http = http;
        _scope = scope;
        var options = new OpenAIClientOptions
        {
            Endpoint = target.BaseAddress, // the SDK ignores HttpClient.BaseAddress
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        _clients = [.. target.Models.Select(model => new ChatClient(model, new ApiKeyCredential("sk-load"), options))];
    }

    /// <summary>The same SDK client over an <see cref="HttpClient"/> from <c>AddOpenAIStreaming()</c> with the DI defaults.</summary>
    public static SdkContender ThroughHandler(LoadTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (scope, http) = LoadContenders.CreateHandlerClient(target.BaseAddress);
        return new SdkContender(http, scope, target);
    }

    public override async Task StreamAsync(StreamProbe probe, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        await foreach (var update in _clients[probe.Model].CompleteChatStreamingAsync(Messages, options: null, cancellationToken))
        {
            foreach (var part in update.ContentUpdate)
            {
                probe.OnText(part.Text);
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_scope is not null)
        {
            await _scope.DisposeAsync();
        }
    }
}

/// <summary>This library's typed path: <c>HttpClient.StreamChatCompletionAsync(json)</c> on a client from <c>AddOpenAIStreaming()</c>.</summary>
public sealed class TypedContender : LoadContender
{
    private readonly HandlerClientScope? _scope;
    private readonly HttpClient _http;
    private readonly string[] _requests;

    /// <summary>Through <c>AddOpenAIStreaming()</c> with its defaults.</summary>
    public TypedContender(LoadTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        (_scope, _http) = LoadContenders.CreateHandlerClient(target.BaseAddress);
        _requests = Requests(target);
    }

    /// <summary>Over <paramref name="http"/> as it is (owned).</summary>
    public TypedContender(HttpClient http, LoadTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        _http = http;
        _requests = Requests(target);
    }

    private static string[] Requests(LoadTarget target) => [.. Enumerable.Range(0, target.ModelCount).Select(target.RequestJson)];

    public override async Task StreamAsync(StreamProbe probe, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        await foreach (var update in _http.StreamChatCompletionAsync(_requests[probe.Model], cancellationToken))
        {
            probe.OnText(update.Text);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_scope is not null)
        {
            await _scope.DisposeAsync();
        }
    }
}
