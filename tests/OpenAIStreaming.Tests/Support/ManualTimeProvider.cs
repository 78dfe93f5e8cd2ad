namespace OpenAIStreaming.Tests.Support;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock only moves when a test calls <see cref="Advance"/> or <see cref="SetUtcNow"/>.
/// Timers (and so <c>Task.Delay(d, provider)</c> and <c>new CancellationTokenSource(d, provider)</c>) fire in due order,
/// on the thread that advances the clock, outside any lock. Thread-safe.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private DateTimeOffset _now;
    private long _sequence;

    /// <summary>Creates a clock that starts at <paramref name="start"/> (default 2026-01-01T00:00:00Z).</summary>
    public ManualTimeProvider(DateTimeOffset? start = null)
    {
        _now = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Start = _now;
    }

    /// <summary>The time the clock started at; <see cref="GetTimestamp"/> counts ticks from it.</summary>
    public DateTimeOffset Start { get; }

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>The number of timers that are scheduled to fire (created or changed with a finite due time, not yet fired or disposed).</summary>
    public int ActiveTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count;
            }
        }
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    /// <inheritdoc />
    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return (_now - Start).Ticks;
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>How long the waiting helpers wait, in real time, before failing the test instead of hanging it.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Gets the time advanced since <see cref="Start"/>.</summary>
    public TimeSpan Elapsed => GetUtcNow() - Start;

    /// <summary>Gets the number of timers scheduled to fire (the same as <see cref="ActiveTimers"/>).</summary>
    public int ActiveTimerCount => ActiveTimers;

    /// <summary>The time left until each scheduled timer fires, soonest first.</summary>
    public IReadOnlyList<TimeSpan> PendingDueTimes()
    {
        lock (_gate)
        {
            return _timers.Select(t => t.DueAt - _now).Order().ToList();
        }
    }

    /// <summary>Waits (in real time, bounded by <see cref="SafetyTimeout"/>) until at least <paramref name="count"/> timers are scheduled.</summary>
    public Task WaitForTimersAsync(int count) => WaitUntilAsync(() => ActiveTimers >= count, $"{count} scheduled timers (have {ActiveTimers})");

    /// <summary>Waits until a timer is scheduled to fire exactly <paramref name="dueIn"/> from now.</summary>
    public Task WaitForTimerDueInAsync(TimeSpan dueIn) =>
        WaitUntilAsync(() => PendingDueTimes().Contains(dueIn), $"a timer due in {dueIn} (have {string.Join(", ", PendingDueTimes())})");

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <see cref="SafetyTimeout"/> of real time.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
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

    /// <summary>Moves the clock forward by <paramref name="delta"/>, firing every timer that falls due on the way, in order.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + delta;
        }

        MoveTo(target);
    }

    /// <summary>Moves the clock to <paramref name="value"/> (never backwards), firing the timers due on the way.</summary>
    public void SetUtcNow(DateTimeOffset value)
    {
        lock (_gate)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, _now);
        }

        MoveTo(value);
    }

    /// <summary>Completes when at least <paramref name="count"/> timers are active, e.g. once the code under test is waiting on the clock.</summary>
    public Task WaitForActiveTimersAsync(int count = 1, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            if (_timers.Count >= count)
            {
                return Task.CompletedTask;
            }

            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, signal));
        }

        return signal.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Advances the clock by <paramref name="step"/> each time a timer is waiting, until <paramref name="task"/> completes;
    /// returns how many steps it took. Use it when the code under test waits on the clock an unknown number of times.
    /// </summary>
    public async Task<int> AdvanceUntilAsync(Task task, TimeSpan step, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        int steps = 0;
        while (!task.IsCompleted)
        {
            Task timer = WaitForActiveTimersAsync(1, cancellationToken);
            if (await Task.WhenAny(task, timer) == task)
            {
                break;
            }

            await timer;
            Advance(step);
            steps++;
        }

        await task;
        return steps;
    }

    private void MoveTo(DateTimeOffset target)
    {
        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = null;
                foreach (ManualTimer timer in _timers)
                {
                    if (timer.DueAt <= target && (due is null || timer.DueAt < due.DueAt || (timer.DueAt == due.DueAt && timer.Order < due.Order)))
                    {
                        due = timer;
                    }
                }

                if (due is null)
                {
                    _now = target;
                    return;
                }

                if (due.DueAt > _now)
                {
                    _now = due.DueAt;
                }

                _timers.Remove(due);
                if (due.Period > TimeSpan.Zero && due.Period != Timeout.InfiniteTimeSpan)
                {
                    Schedule(due, _now + due.Period);
                }
            }

            due.Fire();
        }
    }

    private void Schedule(ManualTimer timer, DateTimeOffset dueAt)
    {
        timer.DueAt = dueAt;
        timer.Order = ++_sequence;
        _timers.Add(timer);
        for (int i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_timers.Count >= _waiters[i].Count)
            {
                _waiters[i].Signal.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private bool _disposed;

        public DateTimeOffset DueAt { get; set; }

        public long Order { get; set; }

        public TimeSpan Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                if (_disposed)
                {
                    return false;
                }

                owner._timers.Remove(this);
                Period = period;
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, TimeSpan.Zero);
                    owner.Schedule(this, owner._now + dueTime);
                }

                return true;
            }
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._gate)
            {
                _disposed = true;
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
