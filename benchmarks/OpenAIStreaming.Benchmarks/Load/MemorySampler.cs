namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>
/// Samples <see cref="GC.GetTotalMemory(bool)"/> (without collecting) and the number of open streams every 10 ms on a
/// thread of its own (not the thread pool, which the streams keep busy), into arrays allocated up front so sampling
/// allocates nothing during the run.
/// </summary>
public sealed class MemorySampler : IDisposable
{
    private const int IntervalMilliseconds = 10;

    private readonly OpenStreamCounter _open;
    private readonly int[] _openCounts;
    private readonly long[] _memory;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _armed = new();
    private volatile bool _stopping;
    private int _count;

    public MemorySampler(OpenStreamCounter open, TimeSpan longest)
    {
        _open = open;
        int capacity = (int)Math.Min(1_000_000, (longest.TotalMilliseconds / IntervalMilliseconds) + 1_000);
        _openCounts = new int[capacity];
        _memory = new long[capacity];
        _thread = new Thread(Sample) { IsBackground = true, Name = "load memory sampler" };
        _thread.Start();
    }

    /// <summary>Starts sampling (the thread already exists, so starting allocates nothing).</summary>
    public void Arm() => _armed.Set();

    /// <summary>Stops sampling and returns the most streams seen open at once and the median managed heap over the samples that saw them.</summary>
    public (int MaxOpen, long MedianBytes) Stop()
    {
        _stopping = true;
        _armed.Set();
        _thread.Join();
        int maxOpen = 0;
        for (int i = 0; i < _count; i++)
        {
            maxOpen = Math.Max(maxOpen, _openCounts[i]);
        }

        if (maxOpen == 0)
        {
            return (0, 0);
        }

        var atMax = new List<long>();
        for (int i = 0; i < _count; i++)
        {
            if (_openCounts[i] == maxOpen)
            {
                atMax.Add(_memory[i]);
            }
        }

        atMax.Sort();
        return (maxOpen, atMax[atMax.Count / 2]);
    }

    public void Dispose()
    {
        if (!_stopping)
        {
            Stop();
        }

        _armed.Dispose();
    }

    private void Sample()
    {
        _armed.Wait();
        while (!_stopping && _count < _openCounts.Length)
        {
            // Open count first: a stream that opens between the two reads is counted in the memory but not in the count,
            // which errs towards more bytes per stream, never fewer.
            _openCounts[_count] = _open.Count;
            _memory[_count] = GC.GetTotalMemory(forceFullCollection: false);
            _count++;
            Thread.Sleep(IntervalMilliseconds);
        }
    }
}
