using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace QuickStart;

/// <summary>
/// A minimal in-process OpenAI-compatible endpoint on 127.0.0.1 (a random port) that streams a fixed answer token by
/// token, so the sample runs without a key or a network. Tests use the fuller fault-injecting server instead.
/// </summary>
internal sealed class LocalFakeOpenAI : IAsyncDisposable
{
    private static readonly string[] Tokens =
        ["Streaming", " keeps", " users", " waiting", " less", ":", " the", " first", " token", " shows", " at", " once", " —", " é", "t", "é", " 漢字", " 🙂", "."];

    private readonly WebApplication _app;

    private LocalFakeOpenAI(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<LocalFakeOpenAI> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        app.MapPost("/v1/chat/completions", StreamAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LocalFakeOpenAI(app, new Uri(address.TrimEnd('/') + "/v1/"));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private static async Task StreamAsync(HttpContext context)
    {
        using JsonDocument request = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        string model = request.RootElement.TryGetProperty("model", out JsonElement m) ? m.GetString() ?? "fake" : "fake";
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");

        await WriteAsync(context, Chunk(model, """{"role":"assistant","content":"","refusal":null}""", "null"));
        foreach (string token in Tokens)
        {
            await Task.Delay(40, context.RequestAborted);
            await WriteAsync(context, Chunk(model, "{\"content\":" + JsonSerializer.Serialize(token) + "}", "null"));
        }

        await WriteAsync(context, Chunk(model, "{}", "\"stop\""));
        await WriteAsync(context, "[DONE]");
    }

    private static string Chunk(string model, string delta, string finishReason) =>
        $$"""{"id":"chatcmpl-local","object":"chat.completion.chunk","created":1751568164,"model":{{JsonSerializer.Serialize(model)}},"choices":[{"index":0,"delta":{{delta}},"logprobs":null,"finish_reason":{{finishReason}}}]}""";

    private static async Task WriteAsync(HttpContext context, string data)
    {
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: " + data + "\n\n"), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
