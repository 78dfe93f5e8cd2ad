using System.Diagnostics;

namespace OpenAIStreaming.Benchmarks.Load;

/// <summary>
/// One stream of a run: when it was sent, when its first non-empty text delta came, whether the text matched the
/// server's deterministic answer delta by delta (no copy of the text is kept), and what it threw. Created before the
/// run's baselines, so it does not count in the contender's allocations.
/// </summary>
public sealed class StreamProbe
{
    private readonly string _expected;
    private readonly OpenStreamCounter _open;
    private int _matched;
    private bool _mismatch;

    public StreamProbe(string expected, OpenStreamCounter open, int model = 0)
    {
        _expected = expected;
        _open = open;
        Model = model;
    }

    /// <summary>Gets which of the run's models the stream asks for (an index into <see cref="LoadTarget.Models"/>).</summary>
    public int Model { get; }

    /// <summary>Gets the <see cref="Stopwatch"/> timestamp taken just before the request was sent.</summary>
    public long Started { get; private set; }

    /// <summary>Gets the timestamp of the first non-empty text delta, or 0.</summary>
    public long FirstToken { get; private set; }

    /// <summary>Gets the timestamp at which the stream ended (completed or failed), or 0 while it runs.</summary>
    public long Ended { get; private set; }

    public Exception? Error { get; private set; }

    /// <summary>Gets a value indicating whether the deltas so far were exactly the answer's text, and all of it.</summary>
    public bool TextComplete => !_mismatch && _matched == _expected.Length;

    public void Start() => Started = Stopwatch.GetTimestamp();

    public void OnText(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        if (FirstToken == 0)
        {
            FirstToken = Stopwatch.GetTimestamp();
            _open.Opened();
        }

        if (!_mismatch && _expected.AsSpan(_matched).StartsWith(text, StringComparison.Ordinal))
        {
            _matched += text.Length;
        }
        else
        {
            _mismatch = true;
        }
    }

    public void End(Exception? error)
    {
        Error = error;
        Ended = Stopwatch.GetTimestamp();
        if (FirstToken != 0)
        {
            _open.Closed();
        }
    }
}

/// <summary>Streams that have received their first text delta and not ended yet.</summary>
public sealed class OpenStreamCounter
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Opened() => Interlocked.Increment(ref _count);

    public void Closed() => Interlocked.Decrement(ref _count);
}
