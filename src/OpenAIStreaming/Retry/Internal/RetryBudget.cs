using OpenAIStreaming.Handler.Internal;
namespace OpenAIStreaming.Retry.Internal;

/// <summary>
/// A retry budget shared by every request through one handler: each request deposits <c>ratio</c> tokens (capped at
/// <see cref="OpenAIStreamingDefaultValues.MaxEarnedRetries"/>), each retry withdraws one. When the earned tokens are spent,
/// a floor of <c>minPerSecond</c> retries per whole-second window (measured with the <see cref="TimeProvider"/>) is still
/// allowed. So a failure storm retries about <c>ratio</c> of its traffic plus the floor, instead of multiplying it.
/// </summary>
internal sealed class RetryBudget
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly double _ratio;
    private readonly int _minPerSecond;
    private readonly TimeProvider _timeProvider;
    private double _earned;
    private long _windowStart;
    private int _floorUsed;

    public RetryBudget(double ratio, int minPerSecond, TimeProvider timeProvider)
    {
        _ratio = ratio;
        _minPerSecond = minPerSecond;
        _timeProvider = timeProvider;
        _windowStart = timeProvider.GetTimestamp();
    }

    /// <summary>Records a request (not a retry).</summary>
    public void Deposit()
    {
        lock (_lock)
        {
            _earned = Math.Min(_earned + _ratio, OpenAIStreamingDefaultValues.MaxEarnedRetries);
        }
    }

    /// <summary>Gives back a token withdrawn for a retry that did not happen.</summary>
    public void Refund()
    {
        lock (_lock)
        {
            _earned = Math.Min(_earned + 1, OpenAIStreamingDefaultValues.MaxEarnedRetries);
        }
    }

    /// <summary>Withdraws one retry; false when the budget is exhausted.</summary>
    public bool TryWithdraw()
    {
        lock (_lock)
        {
            if (_earned >= 1)
            {
                _earned -= 1;
                return true;
            }

            RollWindow();
            if (_floorUsed < _minPerSecond)
            {
                _floorUsed++;
                return true;
            }

            return false;
        }
    }

    private void RollWindow()
    {
        long now = _timeProvider.GetTimestamp();
        if (_timeProvider.GetElapsedTime(_windowStart, now) >= Window)
        {
            _windowStart = now;
            _floorUsed = 0;
        }
    }
}
