using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAIStreaming;
using OpenAIStreaming.Handler.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds <see cref="OpenAIStreamingHandler"/> to a named or typed <see cref="HttpClient"/>.</summary>
public static class OpenAIStreamingHttpClientBuilderExtensions
{
    /// <summary>Adds the handler with the default options (the <see cref="OpenAIStreamingOptions.Interactive"/> preset).</summary>
    /// <param name="builder">The client builder.</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddOpenAIStreaming(this IHttpClientBuilder builder) => AddCore(builder);

    /// <summary>Adds the handler and configures its options.</summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="configure">Changes the options of this client (named after the client).</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddOpenAIStreaming(this IHttpClientBuilder builder, Action<OpenAIStreamingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(builder).Services.Configure(builder.Name, configure);
        return builder;
    }

    /// <summary>
    /// Adds the handler and binds its options to a configuration section (for example <c>"OpenAIStreaming"</c> with
    /// <c>"FirstTokenTimeout": "00:00:05"</c>). An unknown key or a value that does not convert fails loudly when the options
    /// are first built (at start-up).
    /// </summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddOpenAIStreaming(this IHttpClientBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        AddCore(builder);
        builder.Services.AddOptions<OpenAIStreamingOptions>(builder.Name).Bind(section, static binder => binder.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    /// <summary>
    /// Registers named options validated at start-up, the handler (as a message handler of this client) and, unless the
    /// caller configures a primary handler of their own, the tuned <see cref="SocketsHttpHandler"/> of
    /// <see cref="OpenAIStreamingHandler.CreatePrimaryHandler"/>. Every handler instance of the client shares one retry budget
    /// and one set of route circuits, so they survive handler rotation. The client's <see cref="HttpClient.Timeout"/> is set to
    /// infinite so <see cref="OpenAIStreamingOptions.TotalTimeout"/> governs, and the client's other resilience handlers (the
    /// standard one .NET Aspire adds to every client, for example) are taken out of its chain: they end at the response
    /// headers, so their attempt timeout cuts a slow first token, their retries multiply this handler's, and their
    /// concurrency limit refuses large streaming loads — this handler does all of that per stream. Called twice on one
    /// client, it adds one handler (the second call only configures the options).
    /// </summary>
    private static IHttpClientBuilder AddCore(IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string name = builder.Name;
        if (builder.Services.Any(d => d.ServiceType == typeof(RegisteredClient) && d.ImplementationInstance is RegisteredClient registered && registered.Name == name))
        {
            return builder; // the handler is there already
        }

        builder.Services.AddSingleton(new RegisteredClient(name));
        builder.Services.AddOptions<OpenAIStreamingOptions>(name).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OpenAIStreamingOptions>>(new NamedValidator(name));

        // Inserted first, so a primary handler configured by the caller (before or after this call) replaces it.
        builder.Services.Configure<HttpClientFactoryOptions>(name, factoryOptions => factoryOptions.HttpMessageHandlerBuilderActions.Insert(0, handlerBuilder =>
        {
            OpenAIStreamingOptions options = handlerBuilder.Services.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>().Get(name);
            handlerBuilder.PrimaryHandler = OpenAIStreamingHandler.CreatePrimaryHandler(options);
        }));
        builder.ConfigureHttpClient(static client => client.Timeout = Timeout.InfiniteTimeSpan);

        // After every other configuration of the client (defaults first, then its own, in any order): no resilience handler
        // of Microsoft.Extensions.Http.Resilience stays in its chain.
        builder.Services.PostConfigure<HttpClientFactoryOptions>(name, factoryOptions => factoryOptions.HttpMessageHandlerBuilderActions.Add(static handlerBuilder =>
        {
            IList<DelegatingHandler> handlers = handlerBuilder.AdditionalHandlers;
            for (int i = handlers.Count - 1; i >= 0; i--)
            {
                if (handlers[i].GetType().FullName == ResilienceHandlerTypeName)
                {
                    handlers.RemoveAt(i);
                }
            }
        }));
        builder.Services.TryAddSingleton<HandlerStateRegistry>();
        builder.AddHttpMessageHandler(services =>
        {
            OpenAIStreamingOptions options = services.GetRequiredService<IOptionsMonitor<OpenAIStreamingOptions>>().Get(name);
            TimeProvider timeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
            ILoggerFactory? loggerFactory = services.GetService<ILoggerFactory>();
            HandlerSharedState state = services.GetRequiredService<HandlerStateRegistry>().GetOrAdd(
                name,
                () => new HandlerSharedState(options, timeProvider, OpenAIStreamingHandler.CreateLogger(loggerFactory), services.GetService<IMeterFactory>()));
            return new OpenAIStreamingHandler(options, timeProvider, loggerFactory, random: null, state);
        });
        return builder;
    }

    /// <summary>The handler type of Microsoft.Extensions.Http.Resilience (<c>AddStandardResilienceHandler</c>, <c>AddResilienceHandler</c>).</summary>
    private const string ResilienceHandlerTypeName = "Microsoft.Extensions.Http.Resilience.ResilienceHandler";

    /// <summary>Marks a client that has the handler, so a second registration adds no second one.</summary>
    private sealed record RegisteredClient(string Name);

    /// <summary>Applies every rule of <see cref="OpenAIStreamingOptions"/> to the options of one client.</summary>
    private sealed class NamedValidator(string name) : IValidateOptions<OpenAIStreamingOptions>
    {
        public ValidateOptionsResult Validate(string? optionsName, OpenAIStreamingOptions options) =>
            optionsName == name ? OpenAIStreamingOptionsValidator.Instance.Validate(optionsName, options) : ValidateOptionsResult.Skip;
    }
}
