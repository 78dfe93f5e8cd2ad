namespace OpenAIStreaming.Tests.Handler.Support;

/// <summary>
/// A thread-safe fake clock. Time moves only in <see cref="Advance"/>, which fires every timer that falls due, in order of
/// due time (then creation), moving the clock to each due time before firing it. Callbacks run outside the lock.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    /// <summary>How long the waiting helpers wait, in real time, before failing the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(15);

    private readonly object _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now;
    private long _elapsedTicks;
    private long _sequence;

    public ManualTimeProvider(DateTimeOffset? start = null)
    {
        _now = start ?? new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Gets the total time advanced so far.</summary>
    public TimeSpan Elapsed
    {
        get
        {
            lock (_lock)
            {
                return TimeSpan.FromTicks(_elapsedTicks);
            }
        }
    }

    /// <summary>Gets the number of timers currently scheduled to fire.</summary>
    public int ActiveTimerCount
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.DueAt is not null);
            }
        }
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _elapsedTicks;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>The time left until each scheduled timer fires, soonest first.</summary>
    public IReadOnlyList<TimeSpan> PendingDueTimes()
    {
        lock (_lock)
        {
            return _timers.Where(t => t.DueAt is not null).Select(t => TimeSpan.FromTicks(t.DueAt!.Value - _elapsedTicks)).Order().ToList();
        }
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long target;
        lock (_lock)
        {
            target = _elapsedTicks + by.Ticks;
        }

        while (true)
        {
            ManualTimer? due = null;
            lock (_lock)
            {
                foreach (ManualTimer timer in _timers)
                {
                    if (timer.DueAt is long at && at <= target && (due is null || at < due.DueAt || (at == due.DueAt && timer.Sequence < due.Sequence)))
                    {
                        due = timer;
                    }
                }

                if (due is null)
                {
                    MoveTo(target);
                    return;
                }

                MoveTo(due.DueAt!.Value);
                due.DueAt = due.Period > 0 ? due.DueAt + due.Period : null;
            }

            due.Fire();
        }
    }

    /// <summary>Waits (in real time, bounded by <see cref="SafetyTimeout"/>) until at least <paramref name="count"/> timers are scheduled.</summary>
    public Task WaitForTimersAsync(int count) => WaitUntilAsync(() => ActiveTimerCount >= count, $"{count} scheduled timers (have {ActiveTimerCount})");

    /// <summary>Waits until a timer is scheduled to fire exactly <paramref name="dueIn"/> from now.</summary>
    public Task WaitForTimerDueInAsync(TimeSpan dueIn) =>
        WaitUntilAsync(() => PendingDueTimes().Contains(dueIn), $"a timer due in {dueIn} (have {string.Join(", ", PendingDueTimes())})");

    /// <summary>Polls <paramref name="condition"/> (yielding between polls) until it holds; fails after <see cref="SafetyTimeout"/> of real time.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var safety = new CancellationTokenSource(SafetyTimeout);
        while (!condition())
        {
            if (safety.IsCancellationRequested)
            {
                throw new TimeoutException($"Gave up waiting for {what}.");
            }

            await Task.Delay(1);
        }
    }

    private void MoveTo(long ticks)
    {
        if (ticks > _elapsedTicks)
        {
            _now += TimeSpan.FromTicks(ticks - _elapsedTicks);
            _elapsedTicks = ticks;
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long Sequence { get; } = Interlocked.Increment(ref owner._sequence);

        public long? DueAt { get; set; }

        public long Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                if (!owner._timers.Contains(this))
                {
                    return false;
                }

                Period = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : owner._elapsedTicks + Math.Max(0, dueTime.Ticks);
            }

            if (dueTime == TimeSpan.Zero)
            {
                // Due now: fire without waiting for the next Advance, as a real timer would.
                owner.Advance(TimeSpan.Zero);
            }

            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
