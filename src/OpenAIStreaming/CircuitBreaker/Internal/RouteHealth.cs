namespace OpenAIStreaming.CircuitBreaker.Internal;

/// <summary>
/// The health of one route (an endpoint and a model or deployment): a circuit over a sliding window of attempt outcomes.
/// Closed, it admits everything; when at least <see cref="OpenAIStreamingCircuitBreakerOptions.MinimumThroughput"/>
/// outcomes in <see cref="OpenAIStreamingCircuitBreakerOptions.SamplingDuration"/> are failures at
/// <see cref="OpenAIStreamingCircuitBreakerOptions.FailureRatio"/> or more, it opens for
/// <see cref="OpenAIStreamingCircuitBreakerOptions.BreakDuration"/>; then one trial is admitted, whose success closes it and
/// whose failure opens it again. A trial that ends without a verdict (cancelled, or a hedge that lost) gives its turn back.
/// </summary>
/// <remarks>
/// Outcomes are reported by whoever knows them, at any time: an attempt's status or transport failure when it ends, a
/// stream's break after the commit point when its body ends. Nothing here blocks; every operation is a short lock.
/// </remarks>
internal sealed class RouteHealth
{
    private const int Buckets = 10;

    private readonly Lock _lock = new();
    private readonly OpenAIStreamingCircuitBreakerOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly long _bucketTicks;
    private readonly long[] _bucketStart = new long[Buckets];
    private readonly int[] _total = new int[Buckets];
    private readonly int[] _failures = new int[Buckets];
    private State _state;
    private long _openUntil;
    private bool _trialInFlight;
    private long _trialStarted;

    public RouteHealth(string key, OpenAIStreamingCircuitBreakerOptions options, TimeProvider timeProvider)
    {
        Key = key;
        _options = options;
        _timeProvider = timeProvider;
        _bucketTicks = Math.Max(1, (long)(options.SamplingDuration.TotalSeconds * timeProvider.TimestampFrequency / Buckets));
    }

    /// <summary>Raised (outside the lock) when the circuit opens, with the break duration.</summary>
    public event Action<RouteHealth, TimeSpan>? Opened;

    /// <summary>Raised (outside the lock) when a trial's success closes the circuit.</summary>
    public event Action<RouteHealth>? Closed;

    private enum State
    {
        Closed,
        Open,
        HalfOpen,
    }

    /// <summary>Gets the route's key (for logs and metrics: an endpoint and a model, never a credential).</summary>
    public string Key { get; }

    /// <summary>Gets a value indicating whether the circuit refuses ordinary requests now.</summary>
    public bool IsRefusing
    {
        get
        {
            lock (_lock)
            {
                long now = _timeProvider.GetTimestamp();
                return _state == State.HalfOpen ? _trialInFlight && !TrialOverdue(now) : _state == State.Open && now < _openUntil;
            }
        }
    }

    /// <summary>
    /// Asks to send an attempt: <see cref="Admission.Allowed"/> while closed, <see cref="Admission.Trial"/> for the one
    /// attempt let through once the break is over, <see cref="Admission.Refused"/> otherwise. A trial still without a verdict
    /// after a whole break (a long stream, or a response never read to its end) does not hold the circuit: another one is let
    /// through.
    /// </summary>
    public Admission TryAdmit()
    {
        lock (_lock)
        {
            long now = _timeProvider.GetTimestamp();
            switch (_state)
            {
                case State.Closed:
                    return Admission.Allowed;
                case State.Open when now >= _openUntil:
                case State.HalfOpen when !_trialInFlight || TrialOverdue(now):
                    _state = State.HalfOpen;
                    _trialInFlight = true;
                    _trialStarted = now;
                    return Admission.Trial;
                default:
                    return Admission.Refused;
            }
        }
    }

    /// <summary>
    /// Sends an attempt whatever the circuit says (the last target of a chain is never refused): the circuit's trial when
    /// one is due, otherwise <see cref="Admission.Forced"/> — its success closes the circuit, its failure leaves it as it is.
    /// </summary>
    public Admission Force()
    {
        Admission admission = TryAdmit();
        return admission == Admission.Refused ? Admission.Forced : admission;
    }

    /// <summary>Records the verdict of an attempt admitted as <paramref name="admission"/>.</summary>
    public void Report(Admission admission, bool failed)
    {
        TimeSpan? opened = null;
        bool closed = false;
        lock (_lock)
        {
            long now = _timeProvider.GetTimestamp();
            if (admission == Admission.Forced)
            {
                if (!failed && _state != State.Closed)
                {
                    Close();
                    closed = true;
                }
            }
            else if (admission == Admission.Trial && _state == State.HalfOpen)
            {
                _trialInFlight = false;
                if (failed)
                {
                    opened = Open(now);
                }
                else
                {
                    Close();
                    closed = true;
                }
            }
            else if (_state == State.Closed)
            {
                int bucket = Bucket(now);
                _total[bucket]++;
                if (failed)
                {
                    _failures[bucket]++;
                    (int total, int failures) = Sums(now);
                    if (total >= _options.MinimumThroughput && failures >= _options.FailureRatio * total)
                    {
                        opened = Open(now);
                    }
                }
            }
        }

        if (opened is { } breakDuration)
        {
            Opened?.Invoke(this, breakDuration);
        }
        else if (closed)
        {
            Closed?.Invoke(this);
        }
    }

    /// <summary>A trial that ended without a verdict (cancelled, or a hedge that lost) gives its turn back.</summary>
    public void Abandon(Admission admission)
    {
        if (admission != Admission.Trial)
        {
            return;
        }

        lock (_lock)
        {
            if (_state == State.HalfOpen)
            {
                _trialInFlight = false;
            }
        }
    }

    private bool TrialOverdue(long now) =>
        now - _trialStarted >= (long)(_options.BreakDuration.TotalSeconds * _timeProvider.TimestampFrequency);

    private void Close()
    {
        _state = State.Closed;
        _trialInFlight = false;
        Array.Clear(_total);
        Array.Clear(_failures);
    }

    private TimeSpan Open(long now)
    {
        _state = State.Open;
        _openUntil = now + (long)(_options.BreakDuration.TotalSeconds * _timeProvider.TimestampFrequency);
        return _options.BreakDuration;
    }

    /// <summary>The bucket for <paramref name="now"/>, emptied first if it last served an older slice of time.</summary>
    private int Bucket(long now)
    {
        long slice = now / _bucketTicks;
        int index = (int)(slice % Buckets);
        if (_bucketStart[index] != slice)
        {
            _bucketStart[index] = slice;
            _total[index] = 0;
            _failures[index] = 0;
        }

        return index;
    }

    private (int Total, int Failures) Sums(long now)
    {
        long slice = now / _bucketTicks;
        int total = 0;
        int failures = 0;
        for (int i = 0; i < Buckets; i++)
        {
            if (slice - _bucketStart[i] < Buckets)
            {
                total += _total[i];
                failures += _failures[i];
            }
        }

        return (total, failures);
    }
}
