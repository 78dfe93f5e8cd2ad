using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace OpenAIStreaming.Tests.Client.Support;

/// <summary>
/// A Kestrel server on 127.0.0.1 (free port) that counts the TCP connections it accepts and records each request's method,
/// path and <c>Authorization</c> header. Every answer is 404 with a small JSON body, like the API root of OpenAI. Requests
/// to <c>/v1/hold</c> are answered only once <see cref="HoldUntil"/> of them are in flight at the same time, so they need as
/// many connections.
/// </summary>
public sealed class ConnectionCountingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<string> _requests = [];
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _accepted;
    private int _holding;

    private ConnectionCountingServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets the number of TCP connections accepted so far.</summary>
    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>Gets or sets how many <c>/v1/hold</c> requests must be in flight before they are answered.</summary>
    public int HoldUntil { get; set; } = 1;

    /// <summary>Gets "METHOD /path authorization" per request, in arrival order.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<ConnectionCountingServer> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        ConnectionCountingServer? server = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            Interlocked.Increment(ref server!._accepted);
            return next(connection);
        })));
        WebApplication app = builder.Build();
        server = new ConnectionCountingServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/v1/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        _held.TrySetResult();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        lock (_lock)
        {
            _requests.Add($"{context.Request.Method} {context.Request.Path} {context.Request.Headers.Authorization}".TrimEnd());
        }

        if (context.Request.Path.Equals("/v1/hold", StringComparison.Ordinal))
        {
            if (Interlocked.Increment(ref _holding) >= HoldUntil)
            {
                _held.TrySetResult();
            }

            await _held.Task.WaitAsync(context.RequestAborted);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("""{"error":{"message":"Invalid URL","type":"invalid_request_error","param":null,"code":null}}""", context.RequestAborted);
    }
}
