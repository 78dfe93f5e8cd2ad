namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// A token that fires only if a test would otherwise hang. No assertion depends on it: a correct
/// implementation finishes long before it, and a hung one fails with <see cref="OperationCanceledException"/>.
/// </summary>
public static class HangGuard
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    public static CancellationTokenSource Start() => new(Limit);
}
