using OpenAIStreaming.CircuitBreaker.Internal;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Fallback.Internal;
using OpenAIStreaming.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// One attempt of a call: one request sent to one target, read (for a stream) up to its first content. It runs on its
/// own cancellation, so a hedge that loses is cancelled without touching the others; its response is disposed unless it
/// wins. The call's cancellation reaches it through the runner (<see cref="CallContext.WakeOnCancel"/>), which cancels
/// every attempt in flight when it wakes to a cancelled call.
/// </summary>
internal sealed class Attempt : IDisposable
{
    private readonly CancellationTokenSource _cancellation;
    private static readonly TimerCallback FirstTokenTimerCallback = static state => ((Attempt)state!).OnFirstTokenTimer();

    private readonly CallContext _call;
    private ITimer? _firstTokenTimer;
    private WakeSignal? _wake;
    private const int TimerOpen = 0; // neither the outcome nor the first-token timer came yet
    private const int TimerClosed = 1; // the outcome came first: the timer can no longer fire
    private const int TimerFired = 2; // the timer fired first

    private volatile bool _isDone;
    private int _timerState; // one of the two wins, once

    public Attempt(int number, Target target, HttpRequestMessage request, Admission admission, RouteHealth? health, CallContext call)
    {
        Number = number;
        Target = target;
        Request = request;
        Admission = admission;
        Health = health;
        StartTimestamp = call.TimeProvider.GetTimestamp();
        _call = call;
        _cancellation = new CancellationTokenSource();
    }

    /// <summary>Gets the attempt's number in the call (1-based).</summary>
    public int Number { get; }

    /// <summary>Gets where it was sent.</summary>
    public Target Target { get; }

    /// <summary>Gets the request it sent.</summary>
    public HttpRequestMessage Request { get; }

    /// <summary>Gets what the route's circuit said when it was sent.</summary>
    public Admission Admission { get; }

    /// <summary>Gets the health of its route, when circuits are on.</summary>
    public RouteHealth? Health { get; }

    /// <summary>Gets when it was sent.</summary>
    public long StartTimestamp { get; }

    /// <summary>Gets the task that completes when the attempt has its outcome (it never faults).</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Gets the response, when one arrived (and was not released).</summary>
    public HttpResponseMessage? Response { get; private set; }

    /// <summary>Gets what was read of a stream's body before its first content.</summary>
    public FirstContentPrefetch? Prefetch { get; private set; }

    /// <summary>Gets the failure, when the attempt failed without a response.</summary>
    public Exception? Error { get; private set; }

    /// <summary>Gets a value indicating whether the call cancelled this attempt (a hedge that lost, or the call's end).</summary>
    public bool WasCancelled => _cancellation.IsCancellationRequested;

    /// <summary>Gets a value indicating whether the attempt reached the commit point: a stream's first content, or the headers of any other answer.</summary>
    public bool Committed => Error is null && Response is { IsSuccessStatusCode: true } && (Prefetch is null || Prefetch.Committed);

    /// <summary>Gets a value indicating whether a stream ended cleanly before its first content (nothing usable was sent).</summary>
    public bool EndedBeforeContent => Prefetch is { End: PrefetchEnd.Ended };

    /// <summary>Gets a value indicating whether the attempt has its outcome (what <see cref="Completion"/> says a moment later): <see cref="Response"/>, <see cref="Prefetch"/> and <see cref="Error"/> are final.</summary>
    public bool IsDone => _isDone;

    /// <summary>Gets a value indicating whether the first-token timer fired before the attempt had its outcome.</summary>
    public bool FirstTokenTimerFired => Volatile.Read(ref _timerState) == TimerFired;

    /// <summary>Gets or sets a value indicating whether the first-token timer has been dealt with (it fired, or cannot matter).</summary>
    public bool HedgeTimerHandled { get; set; }

    /// <summary>
    /// Starts the attempt: sends through <paramref name="send"/> and, for a stream, reads up to the first content; sets
    /// <paramref name="wake"/> once it has its outcome, and when its first-token timer fires.
    /// </summary>
    public void Start(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, bool isStream, int maxEventSize, WakeSignal wake)
    {
        _wake = wake;
        Completion = RunAsync(send, isStream, maxEventSize);
    }

    /// <summary>Arms the first-token timer: it fires <paramref name="timeout"/> after the attempt was sent, unless the attempt ends first.</summary>
    public void ArmFirstTokenTimer(TimeSpan timeout, TimeProvider timeProvider)
    {
        TimeSpan due = timeout - timeProvider.GetElapsedTime(StartTimestamp);
        _firstTokenTimer = timeProvider.CreateTimer(FirstTokenTimerCallback, this, due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void OnFirstTokenTimer()
    {
        // A cancelled attempt (a hedge that lost, the caller's cancellation, the total timeout) is not waiting for its first
        // token any more; one that had its outcome first closed the timer.
        if (_cancellation.IsCancellationRequested || _call.IsCancelled || Interlocked.CompareExchange(ref _timerState, TimerFired, TimerOpen) != TimerOpen)
        {
            return;
        }

        // Counted the moment it fires (not when the runner gets to it, by which time the total timeout may have fired too).
        _call.RecordTimeout(OpenAIStreamTimeoutKind.FirstToken);
        _wake?.Set();
    }

    /// <summary>Cancels the attempt (a hedge that lost, or the call's end); its response is released when it completes.</summary>
    public void Cancel()
    {
        if (!_cancellation.IsCancellationRequested)
        {
            _cancellation.Cancel();
        }
    }

    /// <summary>Releases the response and what was read of it: the attempt did not win.</summary>
    public void Release()
    {
        Prefetch?.Source.Dispose();
        Prefetch = null;
        Response?.Dispose();
        Response = null;
    }

    /// <summary>Hands the response over to the caller: it is no longer this attempt's to release.</summary>
    public HttpResponseMessage TakeResponse()
    {
        HttpResponseMessage response = Response!;
        Response = null;
        return response;
    }

    public void Dispose()
    {
        _firstTokenTimer?.Dispose();
        _cancellation.Dispose();
    }

    private async Task RunAsync(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, bool isStream, int maxEventSize)
    {
        CancellationToken token = _cancellation.Token;
        Uri? sent = Request.RequestUri;
        try
        {
            Response = await send(Request, token).ConfigureAwait(false);
            if (!Origin.Same(sent, Response.RequestMessage?.RequestUri))
            {
                throw StreamingResponse.RedirectedAway(Response.RequestMessage!.RequestUri!, Response);
            }

            if (isStream && Response.IsSuccessStatusCode && !StreamingResponse.IsJson(Response.Content))
            {
                Prefetch = await FirstContentPrefetch.ReadAsync(Response, maxEventSize, token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Error = ex;
            Release();
        }
        finally
        {
            Interlocked.CompareExchange(ref _timerState, TimerClosed, TimerOpen); // a timer that fires from now on does nothing
            _isDone = true;
            _firstTokenTimer?.Dispose(); // it can no longer matter (and one armed after this is disposed with the attempt)
            _wake?.Set();
        }
    }
}
