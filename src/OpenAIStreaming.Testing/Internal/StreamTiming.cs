namespace OpenAIStreaming.Testing.Internal;

/// <summary>The pacing of one stream: time to first token, gap between events, and a deterministic jitter per gap.</summary>
internal sealed class StreamTiming(TimeSpan timeToFirstToken, TimeSpan gap, TimeSpan jitter, ulong seed)
{
    private readonly DeterministicRandom _random = new(seed);

    public TimeSpan TimeToFirstToken { get; } = timeToFirstToken;

    public TimeSpan NextGap() => jitter > TimeSpan.Zero
        ? gap + TimeSpan.FromTicks((long)(_random.Next() % (ulong)(jitter.Ticks + 1)))
        : gap;
}
