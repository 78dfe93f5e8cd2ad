namespace OpenAIStreaming;

/// <summary>
/// Keys for <see cref="HttpRequestMessage.Options"/> that override <see cref="OpenAIStreamingOptions"/> for one request
/// sent through <see cref="OpenAIStreamingHandler"/>.
/// </summary>
/// <example>
/// <code>
/// request.Options.Set(OpenAIStreamingRequestOptions.FirstTokenTimeout, TimeSpan.FromSeconds(30));
/// </code>
/// </example>
/// <remarks>
/// A timeout override must be positive or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> (no limit); a retry
/// override must be between 0 and 10. An invalid override fails the request with <see cref="ArgumentOutOfRangeException"/>.
/// </remarks>
public static class OpenAIStreamingRequestOptions
{
    /// <summary>Overrides <see cref="OpenAIStreamingOptions.FirstTokenTimeout"/>.</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> FirstTokenTimeout = new("OpenAIStreaming.FirstTokenTimeout");

    /// <summary>Overrides <see cref="OpenAIStreamingOptions.IdleTimeout"/>.</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> IdleTimeout = new("OpenAIStreaming.IdleTimeout");

    /// <summary>Overrides <see cref="OpenAIStreamingOptions.TotalTimeout"/>.</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> TotalTimeout = new("OpenAIStreaming.TotalTimeout");

    /// <summary>Overrides <see cref="OpenAIStreamingOptions.MaxRetryAttempts"/>.</summary>
    public static readonly HttpRequestOptionsKey<int> MaxRetryAttempts = new("OpenAIStreaming.MaxRetryAttempts");

    /// <summary>
    /// Replaces the fallbacks of this request (<see cref="OpenAIStreamingOptions.ModelFallbacks"/> and
    /// <see cref="OpenAIStreamingOptions.Fallbacks"/>) with this ordered list; an empty list means none. Each is checked as the
    /// options' fallbacks are; an invalid one fails the request with <see cref="ArgumentException"/>.
    /// </summary>
    public static readonly HttpRequestOptionsKey<IReadOnlyList<OpenAIStreamingFallback>> Fallbacks = new("OpenAIStreaming.Fallbacks");
}
