namespace OpenAIStreaming.Handler.Internal;

/// <summary>Every default and bound of <see cref="OpenAIStreamingOptions"/>, in one place.</summary>
internal static class OpenAIStreamingDefaultValues
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan FirstTokenTimeout = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(8);
    public static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(45);
    public const int MaxRetryAttempts = 2;
    public static readonly TimeSpan RetryBaseDelay = TimeSpan.FromMilliseconds(300);
    public const double RetryJitter = 0.25;
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);
    public const double RetryBudgetRatio = 0.2;
    public const int RetryBudgetMinRetriesPerSecond = 10;
    public const int MaxRequestBodyBytes = 4 * 1024 * 1024;
    public const int MaxErrorBodyBytes = 64 * 1024;
    public const int MaxEventSize = 1024 * 1024;
    public const int MaxHedgedAttempts = 2;

    // The circuit breaker per route.
    public const double CircuitFailureRatio = 0.5;
    public const int CircuitMinimumThroughput = 10;
    public static readonly TimeSpan CircuitSamplingDuration = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan CircuitBreakDuration = TimeSpan.FromSeconds(15);

    // LongForm preset.
    public static readonly TimeSpan LongFormFirstTokenTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan LongFormIdleTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan LongFormTotalTimeout = TimeSpan.FromMinutes(10);

    // Reasoning preset.
    public static readonly TimeSpan ReasoningFirstTokenTimeout = TimeSpan.FromSeconds(120);
    public static readonly TimeSpan ReasoningIdleTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan ReasoningTotalTimeout = TimeSpan.FromMinutes(20);

    // Bounds (the [Range] attributes repeat them as text, because attribute arguments must be constants).
    public const int MaxRetryAttemptsLimit = 10;

    // The tuned primary handler.
    public static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90);
    public static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(10);

    // The retry budget's bucket of earned retries holds at most this many.
    public const double MaxEarnedRetries = 100;
}
