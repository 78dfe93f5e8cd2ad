namespace OpenAIStreaming.Retry.Internal;

/// <summary>
/// The wait before a retry when the server does not say: <see cref="OpenAIStreamingOptions.RetryBaseDelay"/> doubled for
/// each retry before it, spread by ± <see cref="OpenAIStreamingOptions.RetryJitter"/> so concurrent clients do not retry in
/// step. The random source can be seeded (tests).
/// </summary>
internal sealed class RetryDelays
{
    private readonly TimeSpan _baseDelay;
    private readonly double _jitter;
    private readonly Random? _random;
    private readonly Lock _randomLock = new();

    public RetryDelays(OpenAIStreamingOptions options, Random? random)
    {
        _baseDelay = options.RetryBaseDelay;
        _jitter = options.RetryJitter;
        _random = random;
    }

    /// <summary>The wait before retry <paramref name="retry"/> (zero-based) of a target.</summary>
    public TimeSpan Next(int retry) => Backoff(retry, NextRandom());

    private TimeSpan Backoff(int retry, double unitRandom)
    {
        double factor = 1 + (_jitter * ((2 * unitRandom) - 1));
        return TimeSpan.FromTicks((long)(_baseDelay.Ticks * Math.Pow(2, retry) * factor));
    }

    private double NextRandom()
    {
        if (_random is null)
        {
            return Random.Shared.NextDouble();
        }

        lock (_randomLock)
        {
            return _random.NextDouble();
        }
    }
}
