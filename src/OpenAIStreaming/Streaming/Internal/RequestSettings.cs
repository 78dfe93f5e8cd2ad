using OpenAIStreaming.Handler.Internal;
namespace OpenAIStreaming.Streaming.Internal;

/// <summary>The values in force for one request: the handler's options with the request's overrides applied.</summary>
internal readonly record struct RequestSettings(
    TimeSpan FirstTokenTimeout,
    TimeSpan IdleTimeout,
    TimeSpan TotalTimeout,
    int MaxRetryAttempts)
{
    public static RequestSettings For(OpenAIStreamingOptions options, HttpRequestOptions requestOptions) =>
        new(
            Override(requestOptions, OpenAIStreamingRequestOptions.FirstTokenTimeout, options.FirstTokenTimeout),
            Override(requestOptions, OpenAIStreamingRequestOptions.IdleTimeout, options.IdleTimeout),
            Override(requestOptions, OpenAIStreamingRequestOptions.TotalTimeout, options.TotalTimeout),
            OverrideRetries(requestOptions, options.MaxRetryAttempts));

    private static TimeSpan Override(HttpRequestOptions requestOptions, HttpRequestOptionsKey<TimeSpan> key, TimeSpan value)
    {
        if (!requestOptions.TryGetValue(key, out TimeSpan overridden))
        {
            return value;
        }

        if (overridden <= TimeSpan.Zero && overridden != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(
                nameof(requestOptions),
                overridden,
                $"The request option {key.Key} must be positive or Timeout.InfiniteTimeSpan.");
        }

        return overridden;
    }

    private static int OverrideRetries(HttpRequestOptions requestOptions, int value)
    {
        if (!requestOptions.TryGetValue(OpenAIStreamingRequestOptions.MaxRetryAttempts, out int overridden))
        {
            return value;
        }

        if (overridden is < 0 or > OpenAIStreamingDefaultValues.MaxRetryAttemptsLimit)
        {
            throw new ArgumentOutOfRangeException(
                nameof(requestOptions),
                overridden,
                $"The request option {OpenAIStreamingRequestOptions.MaxRetryAttempts.Key} must be between 0 and {OpenAIStreamingDefaultValues.MaxRetryAttemptsLimit}.");
        }

        return overridden;
    }
}
