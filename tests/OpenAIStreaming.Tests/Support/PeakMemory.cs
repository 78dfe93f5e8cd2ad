namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// Samples the managed heap in the background while a test runs and reports the largest growth over the start. Used with a
/// generous margin to show that something stays bounded, never as a timing. Tests that use it run in
/// <see cref="MemoryMeasuredCollection"/>, alone, so other tests' allocations do not count.
/// </summary>
public sealed class PeakMemory : IAsyncDisposable
{
    private readonly long _baseline;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _peak;

    private PeakMemory()
    {
        _baseline = GC.GetTotalMemory(forceFullCollection: true);
        _peak = _baseline;
        _sampler = Task.Run(SampleAsync);
    }

    /// <summary>Gets the largest growth of the managed heap seen so far, in bytes.</summary>
    public long PeakGrowth => Math.Max(0, Interlocked.Read(ref _peak) - _baseline);

    public static PeakMemory Start() => new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            long now = GC.GetTotalMemory(forceFullCollection: false);
            if (now > Interlocked.Read(ref _peak))
            {
                Interlocked.Exchange(ref _peak, now);
            }

            try
            {
                await Task.Delay(2, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>Tests that measure memory run alone, after the others.</summary>
[CollectionDefinition(nameof(MemoryMeasuredCollection), DisableParallelization = true)]
public sealed class MemoryMeasuredCollection
{
}
