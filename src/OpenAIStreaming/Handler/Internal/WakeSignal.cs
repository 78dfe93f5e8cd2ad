using System.Threading.Tasks.Sources;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// What a call's runner waits on between steps: set by whatever can change what it should do next (an attempt that has
/// its outcome, a first-token timer that fired, a retry that is due), one waiter at a time. A signal set while nobody waits
/// is kept for the next wait, so none is lost; several sets before a wait count as one, as the runner then looks at
/// everything. Waiting allocates nothing, unlike <see cref="Task.WhenAny(IEnumerable{Task})"/> over the attempts and timers.
/// </summary>
internal sealed class WakeSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core; // continuations run where the signal is set, as an await of a task's would
    private int _state;

    /// <summary>Completes when the signal is set (at once when it was set since the last wait). One waiter at a time.</summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
        {
            return default;
        }

        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            Volatile.Write(ref _state, Idle); // set between the two steps: consumed here
            return default;
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>Sets the signal: wakes the waiter, or keeps it for the next wait.</summary>
    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Signaled:
                    return;
                case Idle when Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle:
                    return;
                case Waiting when Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting:
                    _core.SetResult(true);
                    return;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
