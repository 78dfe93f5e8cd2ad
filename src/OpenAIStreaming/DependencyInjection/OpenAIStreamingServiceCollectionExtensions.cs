using Microsoft.Extensions.Configuration;
using OpenAIStreaming;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers a ready <see cref="HttpClient"/> named <see cref="OpenAIStreamingDefaults.HttpClientName"/> with
/// <see cref="OpenAIStreamingHandler"/>, the tuned primary handler and the base address
/// <see cref="OpenAIStreamingDefaults.BaseAddress"/> (unless configured otherwise). Resolve it with
/// <c>IHttpClientFactory.CreateClient(OpenAIStreamingDefaults.HttpClientName)</c>; add authentication with the returned
/// builder (for example <c>.ConfigureHttpClient(c =&gt; c.DefaultRequestHeaders.Authorization = …)</c>).
/// </summary>
public static class OpenAIStreamingServiceCollectionExtensions
{
    /// <summary>Registers the client with the default options.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The builder of the registered client.</returns>
    public static IHttpClientBuilder AddOpenAIStreaming(this IServiceCollection services) => AddClient(services).AddOpenAIStreaming();

    /// <summary>Registers the client and configures its options.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns>The builder of the registered client.</returns>
    public static IHttpClientBuilder AddOpenAIStreaming(this IServiceCollection services, Action<OpenAIStreamingOptions> configure) =>
        AddClient(services).AddOpenAIStreaming(configure);

    /// <summary>Registers the client and binds its options to a configuration section.</summary>
    /// <param name="services">The services.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder of the registered client.</returns>
    public static IHttpClientBuilder AddOpenAIStreaming(this IServiceCollection services, IConfigurationSection section) =>
        AddClient(services).AddOpenAIStreaming(section);

    private static IHttpClientBuilder AddClient(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddHttpClient(OpenAIStreamingDefaults.HttpClientName, static client => client.BaseAddress ??= OpenAIStreamingDefaults.BaseAddress);
    }
}
