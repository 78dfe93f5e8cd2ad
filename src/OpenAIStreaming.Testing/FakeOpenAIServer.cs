using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenAIStreaming.Testing.Internal;

namespace OpenAIStreaming.Testing;

/// <summary>
/// An OpenAI-compatible HTTP server on 127.0.0.1 with fault injection, for tests:
/// <c>await using var server = await FakeOpenAIServer.StartAsync();</c> then point any client at <see cref="BaseAddress"/>.
/// </summary>
/// <remarks>
/// Serves <c>POST /v1/chat/completions</c>, <c>POST /v1/completions</c>, <c>POST /v1/responses</c>,
/// <c>GET /v1/responses/{id}</c> (background responses; <c>?stream=true&amp;starting_after=N</c> replays with the
/// same sequence numbers), <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>. Answers are deterministic
/// (see <see cref="GetExpectedText"/>). Faults come from <see cref="AddRule"/>, the <c>x-fake-fault</c> header and
/// <c>fault:</c> model names (syntax on <see cref="FaultRule"/>).
/// </remarks>
public sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RequestHandler _handler;
    private readonly FakeOpenAIServerOptions _options;
    private readonly CancellationTokenSource _stopping;
    private int _disposed;

    private FakeOpenAIServer(WebApplication app, RequestHandler handler, FakeOpenAIServerOptions options, CancellationTokenSource stopping, Uri baseAddress)
    {
        _app = app;
        _handler = handler;
        _options = options;
        _stopping = stopping;
        BaseAddress = baseAddress;
    }

    /// <summary>Gets the API base address, ending in <c>/v1/</c>, e.g. <c>http://127.0.0.1:54321/v1/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets a snapshot of the requests received so far, in arrival order.</summary>
    public IReadOnlyList<FakeRequestLogEntry> Requests => _handler.Requests;

    /// <summary>Starts a server on 127.0.0.1.</summary>
    /// <param name="options">The options, or <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop it.</returns>
    public static async Task<FakeOpenAIServer> StartAsync(FakeOpenAIServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options = (options ?? new FakeOpenAIServerOptions()).Validate();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(FakeOpenAIServer).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxConcurrentUpgradedConnections = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
        });

        // A load test opens thousands of connections at once: a listen backlog far above Kestrel's 512 keeps the kernel from
        // dropping connection attempts (it caps the value at net.core.somaxconn).
        builder.WebHost.UseSockets(sockets => sockets.Backlog = FakeDefaults.ListenBacklog);
        builder.Services.AddLogging();
        if (options.LoggerFactory is { } loggerFactory)
        {
            builder.Services.AddSingleton(loggerFactory);
        }

        var stopping = new CancellationTokenSource();
        WebApplication? app = null;
        try
        {
            app = builder.Build();
            var handler = new RequestHandler(options, options.TimeProvider.GetTimestamp(), stopping.Token);
            app.Run(handler.HandleAsync);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var server = new FakeOpenAIServer(app, handler, options, stopping, new Uri(address.TrimEnd('/') + "/v1/"));
            app = null;
            stopping = null!;
            return server;
        }
        finally
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            stopping?.Dispose();
        }
    }

    /// <summary>Adds a fault rule; it applies to requests that arrive from now on.</summary>
    /// <param name="rule">The rule.</param>
    public void AddRule(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        _handler.AddRule(rule);
    }

    /// <summary>Removes every programmatic fault rule, including those given in <see cref="FakeOpenAIServerOptions.Rules"/>.</summary>
    public void ClearRules() => _handler.ClearRules();

    /// <summary>
    /// The text the server answers to a chat request with these messages: a pure function of the server's
    /// <see cref="FakeOpenAIServerOptions.Seed"/>, the model, the messages' roles and text, and the request's <c>seed</c>.
    /// </summary>
    /// <param name="model">The requested model, exactly as sent.</param>
    /// <param name="messages">The messages as sent (role and text).</param>
    /// <param name="seed">The request's <c>seed</c> field, or <see langword="null"/> when not sent.</param>
    /// <param name="choiceIndex">The choice, for <c>n &gt; 1</c>.</param>
    /// <returns>The concatenated content of the answer with <see cref="FakeOpenAIServerOptions.TokenCount"/> tokens.</returns>
    public string GetExpectedText(string model, IReadOnlyList<FakeMessage> messages, long? seed = null, int choiceIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        var request = new AnswerRequest(model, messages) { Seed = seed, Choices = choiceIndex + 1 };
        return AnswerGenerator.Generate(request, _options.Seed, divergeAfterToken: null, attempt: 1, _options.TokenCount).Choices[choiceIndex].Text;
    }

    /// <summary>Stops the server: requests still running (hung, stalled, streaming) are aborted.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(FakeDefaults.ShutdownTimeout))
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
