using OpenAIStreaming.CircuitBreaker.Internal;
using OpenAIStreaming.Fallback.Internal;
using OpenAIStreaming.Telemetry.Internal;

namespace OpenAIStreaming.Streaming.Internal;

/// <summary>
/// One logical call — every attempt, retry, hedge and fallback of one request, and the reading of the body that won —
/// from the moment the request enters the handler (or <see cref="OpenAIStreamingClient"/>) until the last byte of the
/// answer is read or its content is disposed. The response's <see cref="CallContent"/> owns it after the commit point.
/// </summary>
/// <remarks>
/// It holds what outlives <c>SendAsync</c>: the call's cancellation (the caller's token and the total timeout), the
/// settings in force, the requests it created (released when the call ends), what the body delivered, and whom to tell how
/// the stream ended (the route's health). Every timeout of the call is named in one place, <see cref="Interruption"/>.
/// </remarks>
internal sealed class CallContext : IDisposable
{
    private static readonly Action<object?> CancelCall = static state => ((CallContext)state!).Cancel();
    private static readonly TimerCallback TimerFired = static state => ((CallContext)state!).OnTimer();

    private readonly CancellationTokenSource _cancellation = new(); // cancelled by the total timeout and, until the response is returned, the caller's token
    private ITimer? _timer; // the call's one timer: the total timeout, and the idle timeout of the body being read (its state is the call)
    private CancellationTokenRegistration _callerRegistration;
    private CancellationToken _callerToken;
    private CallBodyStream? _body; // the body being read: watched for idleness, and its read cancelled with the call
    private Handler.Internal.WakeSignal? _runner; // the runner of the call's attempts, woken when the call is cancelled
    private List<HttpRequestMessage>? _ownedRequests; // created with the first: most calls own none
    private readonly Lock _gate = new(); // the owned requests and the recovery's response, against a disposal that races a recovery
    private bool _disposed;
    private RouteHealth? _health; // told how the committed stream's body ended
    private Admission _admission;
    private IStreamRecovery? _recovery;
    private bool _canResume;
    private HttpResponseMessage? _replayResponse;
    private int _ended;
    private int _attempts;
    private int _timeoutsRecorded; // one bit per OpenAIStreamTimeoutKind: each kind is counted once per call

    public CallContext(RequestSettings settings, TimeProvider timeProvider, StreamingMetrics? metrics, string? clientRequestId, CancellationToken callerToken)
    {
        Settings = settings;
        TimeProvider = timeProvider;
        _callerToken = callerToken;
        Metrics = metrics;
        ClientRequestId = clientRequestId;
        StartTimestamp = timeProvider.GetTimestamp();

        // Created before any other timer of the call: when two fall due at once, the total timeout fires first and is named.
        // One timer for the total and the idle timeout, and one source for the call (rather than a linked one over a timed
        // one, and a timer and a registration per body): a stream keeps them for its whole life.
        if (settings.TotalTimeout != System.Threading.Timeout.InfiniteTimeSpan || settings.IdleTimeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            _timer = timeProvider.CreateTimer(TimerFired, this, settings.TotalTimeout, System.Threading.Timeout.InfiniteTimeSpan);
        }

        _callerRegistration = callerToken.UnsafeRegister(CancelCall, this);
    }

    /// <summary>Gets the values in force for this call (the options with the request's overrides).</summary>
    public RequestSettings Settings { get; }

    /// <summary>Gets the clock of every timer of the call.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>
    /// Gets the caller's own token: the one given to send the request, until the response is returned
    /// (<see cref="ReleaseCallerToken"/>); after it, only when it was cancelled before then.
    /// </summary>
    public CancellationToken CallerToken => _callerToken;

    /// <summary>Gets the call's token: the caller's cancellation or the total timeout.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>Gets the metrics to record on, if any.</summary>
    public StreamingMetrics? Metrics { get; }

    /// <summary>Gets the <c>x-client-request-id</c> every attempt carries (null for a call that sets none).</summary>
    public string? ClientRequestId { get; }

    /// <summary>Gets when the call started, on <see cref="TimeProvider"/>.</summary>
    public long StartTimestamp { get; }

    /// <summary>Gets a value indicating whether the caller cancelled or the total timeout fired.</summary>
    public bool IsCancelled => _cancellation.IsCancellationRequested;

    /// <summary>Gets the time left of the total timeout (<see cref="TimeSpan.MaxValue"/> when there is none).</summary>
    public TimeSpan TimeLeft =>
        Settings.TotalTimeout == System.Threading.Timeout.InfiniteTimeSpan
            ? TimeSpan.MaxValue
            : Settings.TotalTimeout - TimeProvider.GetElapsedTime(StartTimestamp);

    /// <summary>Gets the time since the call started.</summary>
    public TimeSpan Elapsed => TimeProvider.GetElapsedTime(StartTimestamp);

    /// <summary>Gets the recovery options when a broken stream of this call can be replayed; null otherwise.</summary>
    public OpenAIStreamingRecoveryOptions? Recovery { get; private set; }

    /// <summary>Gets the route (endpoint and model) of the attempt whose body is being read, when known.</summary>
    public string? Route { get; private set; }

    /// <summary>Gets how many times the stream was recovered.</summary>
    public int Recoveries { get; private set; }

    /// <summary>Gets a value indicating whether a broken stream can be recovered now: recovery is on, not used up, and the call goes on.</summary>
    public bool CanRecover => _recovery is not null && Recoveries < Recovery!.MaxRecoveries && !IsCancelled;

    /// <summary>The number of the next attempt of this call (1-based, counting every retry, hedge and replay).</summary>
    public int NextAttemptNumber() => Interlocked.Increment(ref _attempts);

    /// <summary>Names the route whose body is being read.</summary>
    public void ReadingFrom(string? route) => Route = route;

    /// <summary>
    /// Gets a value indicating whether a broken stream of this call may be continued from the delivered text (an assistant
    /// prefill, <see cref="OpenAIStreamingRecoveryOptions.ContinueWithAssistantPrefill"/>): its readers then keep that text.
    /// </summary>
    public bool CanContinue { get; private set; }

    /// <summary>Gets the targets of the call, once a broken stream of it can be recovered.</summary>
    public TargetChain? Targets { get; private set; }

    /// <summary>Gets the index in <see cref="Targets"/> of the target whose stream is read.</summary>
    public int TargetIndex { get; private set; }

    /// <summary>
    /// Lets a broken stream of this call be recovered by <paramref name="recovery"/>, which sends the request again to
    /// target <paramref name="target"/> of <paramref name="targets"/> (the one that was streaming) — or, given the delivered
    /// text and <paramref name="canContinue"/>, asks for its continuation first; and, when <paramref name="canResume"/> (a
    /// background response the server keeps), streams it again from where it broke.
    /// </summary>
    public void EnableRecovery(OpenAIStreamingRecoveryOptions options, IStreamRecovery recovery, TargetChain targets, int target, bool canContinue = false, bool canResume = false)
    {
        Recovery = options;
        Targets = targets;
        TargetIndex = target;
        CanContinue = canContinue;
        _canResume = canResume;
        _recovery = recovery;
    }

    /// <summary>Gets a value indicating whether the stream is a background response the server keeps, so a break can be resumed where it stopped (<see cref="ResumeAsync"/>).</summary>
    public bool CanResume => _canResume && CanRecover;

    /// <summary>
    /// The stream of a background response broke after its commit point: reports the break to its route, then asks the
    /// server for the stored response's events after sequence number <paramref name="after"/> — nothing is generated again.
    /// The resumed response is the call's to release. Throws a typed error when the server does not stream it (expired,
    /// unknown, refused).
    /// </summary>
    public async ValueTask<ReplayedBody> ResumeAsync(string responseId, long after, CancellationToken cancellationToken)
    {
        Recoveries++;
        ReportBodyEnd(failed: true);
        ReleaseReplay();
        ReplayedBody body = await _recovery!.ResumeAsync(this, responseId, after, cancellationToken).ConfigureAwait(false);
        return Keep(body);
    }

    /// <summary>
    /// The stream broke after its commit point: reports the break to its route, then sends the request again and returns
    /// the replayed answer's events (the caller checks them against what was delivered). The replay's response is the
    /// call's to release. Throws the replay's failure (typed) when no answer came.
    /// </summary>
    /// <param name="cancellationToken">The reader's token.</param>
    /// <param name="delivered">The text delivered so far, when the stream may be continued from it (<see cref="CanContinue"/>).</param>
    public async ValueTask<ReplayedBody> ReplayAsync(CancellationToken cancellationToken, string? delivered = null)
    {
        Recoveries++;
        ReportBodyEnd(failed: true);
        ReleaseReplay();
        ReplayedBody body = await _recovery!.ReplayAsync(this, delivered, cancellationToken).ConfigureAwait(false);
        return Keep(body);
    }

    /// <summary>Keeps <paramref name="request"/> alive until the call ends (a response's <see cref="HttpResponseMessage.RequestMessage"/> may point to it).</summary>
    public void Own(HttpRequestMessage request)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                (_ownedRequests ??= []).Add(request);
                return;
            }
        }

        request.Dispose();
    }

    /// <summary>The call owns a recovery's response from now on; when the call ended while the recovery ran, it is released at once.</summary>
    private ReplayedBody Keep(ReplayedBody body)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _replayResponse = body.Response;
                return body;
            }
        }

        body.Remainder.Dispose();
        body.Response.Dispose();
        throw new ObjectDisposedException(nameof(CallContext), "The response was disposed while its stream was being recovered.");
    }

    /// <summary>
    /// Sets the route health told, once, how the committed stream's body ended, for the attempt admitted as
    /// <paramref name="admission"/>: a failure when it broke, stalled or was cut, a success when it ended well, and no verdict
    /// when it ended otherwise (the consumer stopped reading, the caller cancelled, the total timeout ran out).
    /// </summary>
    public void OnBodyEnd(RouteHealth health, Admission admission)
    {
        _health = health;
        _admission = admission;
        Volatile.Write(ref _ended, 0); // a replay's body gets its own verdict
    }

    /// <summary>Reports how the body ended; only the first report counts.</summary>
    public void ReportBodyEnd(bool failed) => EndBody(failed);

    /// <summary>
    /// Reports how this library's reader ended the stream: complete (<paramref name="error"/> null); broken, stalled,
    /// malformed, truncated or ended by a retryable server error (a failure of the route); the caller's cancellation or the
    /// total timeout (no verdict); or an error about the request itself (the route answered).
    /// </summary>
    public void ReportReaderEnd(Exception? error)
    {
        switch (error)
        {
            case null:
                ReportBodyEnd(failed: false);
                break;
            case OperationCanceledException or OpenAIStreamTimeoutException { Kind: OpenAIStreamTimeoutKind.Total }:
                AbandonBody();
                break;
            case OpenAIStreamProtocolException or OpenAIStreamException { IsBrokenBody: true }:
                ReportBodyEnd(failed: true); // broken, truncated or malformed: the route's fault
                break;
            case OpenAIStreamException { IsRetryable: true } server when !FailureClassifier.IsRateLimit(server):
                ReportBodyEnd(failed: true); // a server error event mid-stream (a rate limit belongs to a key)
                break;
            default:
                ReportBodyEnd(failed: false);
                break;
        }
    }

    private void ReleaseReplay()
    {
        HttpResponseMessage? response;
        lock (_gate)
        {
            response = _replayResponse;
            _replayResponse = null;
        }

        response?.Dispose();
    }

    /// <summary>The body was released before its end (the consumer stopped reading): no verdict on the route.</summary>
    public void AbandonBody() => EndBody(failed: null);

    private void EndBody(bool? failed)
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0 && _health is { } health)
        {
            if (failed is { } verdict)
            {
                health.Report(_admission, verdict);
            }
            else
            {
                health.Abandon(_admission);
            }
        }
    }

    /// <summary>
    /// The error to report for <paramref name="exception"/>, which happened while one of the call's tokens may have fired:
    /// the caller's cancellation stays an <see cref="OperationCanceledException"/> on the caller's token; the total timeout,
    /// and <paramref name="idle"/> when given, become an <see cref="OpenAIStreamTimeoutException"/> naming the timeout;
    /// null when none of them fired.
    /// </summary>
    public Exception? Interruption(Exception? exception, string? requestId, CancellationTokenSource? idle = null, TimeSpan idleTimeout = default)
    {
        // The call's source is read first: the caller's token reads as cancelled before its callback cancels the call's
        // source, so "cancelled, and not by the caller" can only mean the total timeout fired (read the other way round, a
        // caller cancelling between the two reads would look like a total timeout).
        bool callCancelled = _cancellation.IsCancellationRequested;
        if (CallerToken.IsCancellationRequested)
        {
            return new OperationCanceledException("The request was cancelled by the caller.", exception, CallerToken);
        }

        if (callCancelled)
        {
            return Timeout(OpenAIStreamTimeoutKind.Total, Settings.TotalTimeout, requestId, exception);
        }

        if (idle is { IsCancellationRequested: true })
        {
            return Timeout(OpenAIStreamTimeoutKind.Idle, idleTimeout, requestId, exception);
        }

        return null;
    }

    /// <summary>The one place a fired timer becomes an exception (and a metric).</summary>
    public OpenAIStreamTimeoutException Timeout(OpenAIStreamTimeoutKind kind, TimeSpan value, string? requestId, Exception? inner)
    {
        RecordTimeout(kind);
        return new OpenAIStreamTimeoutException(kind, value, requestId, inner);
    }

    /// <summary>Counts a fired timer of <paramref name="kind"/> on the metrics, once per call however often it is reported.</summary>
    public void RecordTimeout(OpenAIStreamTimeoutKind kind)
    {
        int bit = 1 << (int)kind;
        if ((Interlocked.Or(ref _timeoutsRecorded, bit) & bit) == 0)
        {
            Metrics?.Timeout(kind);
        }
    }

    /// <summary>
    /// The response is returned: the token it was sent with no longer cancels the call, as <see cref="HttpClient"/>'s own
    /// does not (it disposes the source it linked to the caller's token once the response is returned). The body's reads take
    /// the token of each read; the registration, and the source behind the token, are not kept for the stream's life.
    /// </summary>
    public void ReleaseCallerToken()
    {
        bool removed = _callerRegistration.Unregister();
        if (!removed)
        {
            _callerRegistration.Dispose(); // its callback ran, or is running: wait for it (nothing to wait for without one)
        }

        _callerRegistration = default;
        if (removed || !_callerToken.IsCancellationRequested)
        {
            _callerToken = default; // a token kept names a cancellation that reached the call; one that fired too late did not
        }
    }

    /// <summary>Cancels the call (the caller's token or the total timeout) and the read of its body in progress.</summary>
    private void Cancel()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return; // the call ended as its timer fired
        }

        Volatile.Read(ref _runner)?.Set(); // the runner cancels its attempts
        Volatile.Read(ref _body)?.CancelRead();
    }

    /// <summary>
    /// The runner that waits on <paramref name="wake"/> runs the call's attempts from now on (null: none does): a cancellation
    /// of the call wakes it, and it cancels them. Its attempts do not link their cancellation to the call's token, whose
    /// source would keep a registration list for the stream's life.
    /// </summary>
    public void WakeOnCancel(Handler.Internal.WakeSignal wake)
    {
        Interlocked.Exchange(ref _runner, wake); // a full fence: a cancellation from now on sees it, or it sees the cancellation
        if (_cancellation.IsCancellationRequested)
        {
            wake.Set();
        }
    }

    /// <summary>The runner that waits on <paramref name="wake"/> has ended: a cancellation no longer wakes it.</summary>
    public void StopWaking(Handler.Internal.WakeSignal wake) => Interlocked.CompareExchange(ref _runner, null, wake);

    /// <summary>
    /// <paramref name="body"/> is the body being read from now on: the call's timer watches its reads for idleness
    /// (<see cref="WatchIdle"/>), and the call's cancellation cancels its read.
    /// </summary>
    public void Attach(CallBodyStream body)
    {
        Interlocked.Exchange(ref _body, body); // a full fence: a cancellation from now on sees it, or it sees the cancellation
        if (_cancellation.IsCancellationRequested)
        {
            body.CancelRead();
        }
    }

    /// <summary><paramref name="body"/> is released: the call no longer watches it.</summary>
    public void Detach(CallBodyStream body) => Interlocked.CompareExchange(ref _body, null, body);

    /// <summary>
    /// A read of the attached body started to wait while the idle watch was off: the timer fires when the idle timeout
    /// <paramref name="idleTimeout"/> would run out (or the total timeout before it).
    /// </summary>
    public void WatchIdle(TimeSpan idleTimeout)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            TimeSpan due = Earlier(idleTimeout);
            if (due > TimeSpan.Zero)
            {
                (_timer ??= TimeProvider.CreateTimer(TimerFired, this, System.Threading.Timeout.InfiniteTimeSpan, System.Threading.Timeout.InfiniteTimeSpan))
                    .Change(due, System.Threading.Timeout.InfiniteTimeSpan);
                return;
            }
        }

        Cancel(); // the total timeout ran out as the read started: outside the lock, as the timer would (a clock that fires at once must not run it inside)
    }

    /// <summary>The earlier of <paramref name="due"/> and the time left of the total timeout (never negative).</summary>
    private TimeSpan Earlier(TimeSpan due)
    {
        if (Settings.TotalTimeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return due;
        }

        // Rounded up to the millisecond: a timer that fires on a coarser clock a moment early is set again for the rest, not
        // for a fraction of a millisecond that it rounds down to zero and fires at once, again and again.
        TimeSpan left = TimeLeft;
        left = left <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds));
        return due == System.Threading.Timeout.InfiniteTimeSpan || left < due ? left : due;
    }

    /// <summary>
    /// The call's timer fired: past the total timeout the call is cancelled; otherwise a read of the body that has waited the
    /// whole idle timeout is cancelled, and the timer is set for the next of the two.
    /// </summary>
    private void OnTimer()
    {
        bool total = false;
        CallBodyStream? idle = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (Settings.TotalTimeout != System.Threading.Timeout.InfiniteTimeSpan && Elapsed >= Settings.TotalTimeout)
            {
                total = true;
            }
            else
            {
                TimeSpan next = System.Threading.Timeout.InfiniteTimeSpan;
                if (Volatile.Read(ref _body) is { } body)
                {
                    if (body.IdleExpired(out TimeSpan idleDue))
                    {
                        idle = body;
                    }
                    else
                    {
                        next = idleDue;
                    }
                }

                _timer!.Change(Earlier(next), System.Threading.Timeout.InfiniteTimeSpan);
            }
        }

        // Outside the lock: a cancellation runs the callbacks of the read it cancels.
        if (total)
        {
            Cancel();
        }
        else
        {
            idle?.CancelRead();
        }
    }

    /// <summary>Ends the call: its timers and the requests it created are released.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        ReleaseReplay();
        _callerRegistration.Dispose(); // waits for the caller's cancellation in progress, which uses the source
        _timer?.Dispose();
        _cancellation.Dispose();
        if (_ownedRequests is { } owned)
        {
            foreach (HttpRequestMessage request in owned)
            {
                request.Dispose();
            }
        }
    }
}

/// <summary>What recovers a call's broken stream: sends its request again, or streams its stored response again from where it broke.</summary>
internal interface IStreamRecovery
{
    /// <summary>
    /// Sends the request of <paramref name="call"/> again (to <see cref="CallContext.TargetIndex"/> of its
    /// <see cref="CallContext.Targets"/> first) and returns the answer up to its first content and the rest of its body;
    /// given the <paramref name="delivered"/> text, it may ask for its continuation instead.
    /// </summary>
    ValueTask<ReplayedBody> ReplayAsync(CallContext call, string? delivered, CancellationToken cancellationToken);

    /// <summary>Streams the stored (background) response <paramref name="responseId"/> of <paramref name="call"/> again, from the event after sequence number <paramref name="after"/>.</summary>
    ValueTask<ReplayedBody> ResumeAsync(CallContext call, string responseId, long after, CancellationToken cancellationToken);
}

/// <summary>
/// A recovery's answer: its response (released by the call), the events read up to its first content, and the rest of its
/// body. <see cref="IsContinuation"/>: it continues the delivered text (nothing in it was delivered before, nothing to
/// check); otherwise it is the answer regenerated from its beginning, or a resumed stream.
/// </summary>
internal sealed record ReplayedBody(HttpResponseMessage Response, IReadOnlyList<PrefetchedEvent> Events, Stream Remainder, string? RequestId)
{
    public bool IsContinuation { get; init; }
}
