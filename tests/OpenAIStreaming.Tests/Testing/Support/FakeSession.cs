using OpenAIStreaming.Testing;

namespace OpenAIStreaming.Tests.Testing.Support;

/// <summary>A started <see cref="FakeOpenAIServer"/> and a plain <see cref="HttpClient"/> pointed at it, disposed together.</summary>
public sealed class FakeSession : IAsyncDisposable
{
    private FakeSession(FakeOpenAIServer server)
    {
        Server = server;
        Client = new HttpClient { BaseAddress = server.BaseAddress };
    }

    public FakeOpenAIServer Server { get; }

    public HttpClient Client { get; }

    public static async Task<FakeSession> StartAsync(FakeOpenAIServerOptions? options = null) =>
        new(await FakeOpenAIServer.StartAsync(options));

    /// <summary>POSTs <paramref name="json"/> to <paramref name="path"/> and returns once the headers are in.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string json, params (string Name, string Value)[] headers) =>
        FakeApi.SendAsync(Client, FakeApi.Post(path, json, headers));

    /// <summary>POSTs and reads every <c>data:</c> value of the stream.</summary>
    public async Task<List<string>> DataAsync(string path, string json, params (string Name, string Value)[] headers)
    {
        using HttpResponseMessage response = await PostAsync(path, json, headers);
        return await FakeApi.ReadAllDataAsync(response);
    }

    /// <summary>POSTs and reads the whole body as text.</summary>
    public async Task<string> BodyAsync(string path, string json, params (string Name, string Value)[] headers)
    {
        using HttpResponseMessage response = await PostAsync(path, json, headers);
        return await response.Content.ReadAsStringAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
