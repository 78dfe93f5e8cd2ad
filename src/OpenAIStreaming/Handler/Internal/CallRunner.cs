using Microsoft.Extensions.Logging;
using OpenAIStreaming.CircuitBreaker.Internal;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Fallback.Internal;
using OpenAIStreaming.Protocol.Internal;
using OpenAIStreaming.Retry.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// Runs the attempts of one call until one of them reaches the commit point: retries before it (server-asked delays or
/// jittered backoff, within the retry budget and the total timeout), fallbacks when a target's retries are used up, routes
/// whose circuit is open skipped while another target can answer, and the hedged first token — when an attempt's
/// first-token timer fires, the attempt is kept and the next target starts beside it; the first to deliver content wins.
/// </summary>
/// <remarks>
/// At most <see cref="OpenAIStreamingOptions.MaxHedgedAttempts"/> attempts are in flight at any moment. Every attempt that
/// does not win is cancelled and its response disposed. Each attempt's verdict goes to its route's health; a stream's break
/// after the commit point is reported when its body ends (<see cref="CallContext.ReportBodyEnd"/>).
/// </remarks>
internal sealed class CallRunner
{
    private const string ClientRequestIdHeader = "x-client-request-id";
    private const string AttemptHeader = "x-attempt";
    private const string RetryCountHeader = "x-stainless-retry-count";

    private readonly int _maxInFlight; // MaxHedgedAttempts, or 1 for a request no attempt may run beside (a background response)
    private readonly CallContext _call;
    private readonly TargetChain _targets;
    private readonly HandlerSharedState _state;
    private readonly OpenAIStreamingOptions _options;
    private readonly RetryDelays _delays;
    private readonly ILogger _logger;
    private readonly Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _send;
    private readonly bool _isStream;
    private readonly bool _isReplayable;
    private readonly List<Attempt> _inFlight = [];
    private readonly List<Attempt> _finished = [];
    private readonly int[] _attemptsPerTarget;
    private readonly WakeSignal _wake = new();
    private Attempt? _lastFailure;
    private (Target Target, Task Due, CancellationTokenSource Cancel)? _scheduled;
    private readonly int _startAt;
    private int _furthestTarget;
    private bool _needsLargerContext;

    public CallRunner(
        CallContext call,
        TargetChain targets,
        HandlerSharedState state,
        OpenAIStreamingOptions options,
        RetryDelays delays,
        ILogger logger,
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send,
        bool isStream,
        bool isReplayable,
        int startAt = 0,
        int? maxInFlight = null)
    {
        _startAt = startAt;
        _maxInFlight = maxInFlight ?? options.MaxHedgedAttempts;
        _call = call;
        _targets = targets;
        _state = state;
        _options = options;
        _delays = delays;
        _logger = logger;
        _send = send;
        _isStream = isStream;
        _isReplayable = isReplayable;
        _attemptsPerTarget = new int[targets.Count];
    }

    /// <summary>
    /// Runs the call. Returns the attempt that committed, or the last failure with a response (an error status the caller
    /// reads; the caller disposes the attempts); throws the failure without one (typed, or the caller's cancellation).
    /// </summary>
    public async Task<Attempt> RunAsync()
    {
        _call.WakeOnCancel(_wake);
        try
        {
            if (_call.IsCancelled)
            {
                throw Cancelled(); // nothing is sent for a call cancelled before it started
            }

            if (!TryStartNextTarget(after: _startAt - 1, reason: null))
            {
                throw CircuitOpen();
            }

            while (true)
            {
                if (_inFlight.Count == 0 && _scheduled is null)
                {
                    return Final();
                }

                await _wake.WaitAsync().ConfigureAwait(false);
                if (_call.IsCancelled)
                {
                    throw Cancelled();
                }

                if (await HandleCompletedAttemptsAsync().ConfigureAwait(false) is { } winner)
                {
                    return winner;
                }

                HandleFiredHedgeTimers();
                StartScheduledIfDue();
            }
        }
        catch (Exception ex) when (_call.IsCancelled && ex is not OpenAIStreamException && !ReferenceEquals(ex, _cancelled))
        {
            throw Cancelled(); // the caller cancelled or the total timeout fired while a failure was being examined
        }
        finally
        {
            _call.StopWaking(_wake);
            await ReleaseInFlightAsync().ConfigureAwait(false);
            if (_scheduled is { } scheduled)
            {
                scheduled.Cancel.Cancel();
                scheduled.Cancel.Dispose();
            }
        }
    }

    /// <summary>
    /// Cancels every attempt still in flight (hedges that lost, or all of them when the call ended) and waits until each has
    /// released its response. A silent server that the total timeout cut counts against its route — once per route, and only
    /// for an attempt that waited at least the first-token timeout (time spent queued inside the client, or a total timeout
    /// the caller set shorter than that, is not the route's fault); a hedge that lost, or the caller's cancellation, does not.
    /// </summary>
    private async ValueTask ReleaseInFlightAsync()
    {
        bool timedOut = _call.IsCancelled && !_call.CallerToken.IsCancellationRequested;
        HashSet<string>? blamed = null;
        foreach (Attempt attempt in _inFlight)
        {
            attempt.Cancel();
        }

        foreach (Attempt attempt in _inFlight)
        {
            await attempt.Completion.ConfigureAwait(false);
            attempt.Release();
            if (timedOut && attempt.Health is { } health && WaitedForFirstToken(attempt) && (blamed ??= []).Add(attempt.Target.Route))
            {
                health.Report(attempt.Admission, failed: true);
            }
            else
            {
                attempt.Health?.Abandon(attempt.Admission);
            }

            _finished.Add(attempt);
        }

        _inFlight.Clear();
    }

    private bool WaitedForFirstToken(Attempt attempt)
    {
        TimeSpan firstToken = _call.Settings.FirstTokenTimeout;
        return firstToken == Timeout.InfiniteTimeSpan || _call.TimeProvider.GetElapsedTime(attempt.StartTimestamp) >= firstToken;
    }

    /// <summary>
    /// Releases the response of every finished attempt but <paramref name="keep"/>, whose response and prefetched bytes were
    /// handed over to the caller, and disposes them all. Attempts still in flight release themselves when they complete.
    /// </summary>
    public void DisposeAttempts(Attempt? keep)
    {
        foreach (Attempt attempt in _finished)
        {
            if (!ReferenceEquals(attempt, keep))
            {
                attempt.Release();
            }

            attempt.Dispose();
        }
    }

    /// <summary>Deals with every attempt that has its outcome; returns the one that committed, if any.</summary>
    private async ValueTask<Attempt?> HandleCompletedAttemptsAsync()
    {
        for (int i = 0; i < _inFlight.Count; i++)
        {
            Attempt attempt = _inFlight[i];
            if (!attempt.IsDone)
            {
                continue;
            }

            _inFlight.RemoveAt(i--);
            _finished.Add(attempt);
            if (attempt.Committed)
            {
                if (!_isStream)
                {
                    attempt.Health?.Report(attempt.Admission, failed: false); // a stream's verdict waits for its body
                }

                if (_isStream)
                {
                    _state.Metrics.FirstEvent(attempt.Request.RequestUri, _call.Elapsed);
                }

                return attempt;
            }

            await OnFailureAsync(attempt).ConfigureAwait(false);
        }

        return null;
    }

    private async ValueTask OnFailureAsync(Attempt attempt)
    {
        Exception? error = attempt.Error is { } raw ? Named(raw, attempt) : null;
        HttpResponseMessage? response = attempt.Response;
        bool retryable = error is not null ? FailureClassifier.IsRetryable(error) : attempt.EndedBeforeContent || FailureClassifier.IsRetryable(response!);
        bool countsAgainstRoute = error is not null
            ? FailureClassifier.CountsAgainstRoute(error)
            : attempt.EndedBeforeContent || FailureClassifier.CountsAgainstRoute((int)response!.StatusCode);
        attempt.Health?.Report(attempt.Admission, countsAgainstRoute);
        Record(attempt, error);

        if (!retryable)
        {
            if (response is not null && (int)response.StatusCode == 400 && HasLargerContextAfter(attempt.Target.Index)
                && await IsContextLengthErrorAsync(response).ConfigureAwait(false))
            {
                _needsLargerContext = true;
                if (_inFlight.Count == 0 && _scheduled is null)
                {
                    TryStartNextTarget(_furthestTarget, Describe(attempt));
                }
            }

            return;
        }

        if (_scheduled is not null
            || (_inFlight.Count > 0 && (_inFlight.Count >= _maxInFlight || !_inFlight.TrueForAll(a => a.HedgeTimerHandled))))
        {
            return; // another attempt is on its way and not known to be slow: a retry would only add to it
        }

        // Nothing in flight, or only attempts that already missed their first token (a hedge that failed fast beside them is
        // retried, as the hedge would have been).
        if (!TryScheduleRetry(attempt, response))
        {
            TryStartNextTarget(_furthestTarget, Describe(attempt), forceWhenAllRefuse: _inFlight.Count == 0);
        }
    }

    /// <summary>Keeps the latest failure for the caller (releasing the one before it).</summary>
    private void Record(Attempt attempt, Exception? named)
    {
        if (_lastFailure is { } previous && !ReferenceEquals(previous, attempt))
        {
            previous.Release();
        }

        _lastFailure = attempt;
        _lastError = named;
    }

    private Exception? _lastError;
    private Exception? _cancelled;

    /// <summary>
    /// Schedules the next attempt on the same target after the delay the server asked for (when it is within
    /// <see cref="OpenAIStreamingOptions.MaxRetryAfter"/> and the time left) or a jittered backoff, if the target has retries
    /// left and the retry budget allows one. False when the request moves on instead.
    /// </summary>
    private bool TryScheduleRetry(Attempt failed, HttpResponseMessage? response)
    {
        Target target = failed.Target;
        int retry = _attemptsPerTarget[target.Index] - 1; // retries of this target so far
        if (!_isReplayable || retry >= _call.Settings.MaxRetryAttempts)
        {
            return false;
        }

        TimeSpan timeLeft = _call.TimeLeft;
        TimeSpan delay;
        if (response is not null && RetryAfterHeader.Read(response, _call.TimeProvider.GetUtcNow()) is { } requested)
        {
            TimeSpan allowed = _options.MaxRetryAfter < timeLeft ? _options.MaxRetryAfter : timeLeft;
            if (requested > allowed)
            {
                HandlerLog.RetryAfterTooLong(_logger, _call.ClientRequestId ?? string.Empty, requested.TotalMilliseconds, allowed.TotalMilliseconds);
                return false;
            }

            delay = requested;
        }
        else
        {
            delay = _delays.Next(retry);
            if (delay >= timeLeft)
            {
                return false;
            }
        }

        if (!_state.Budget.TryWithdraw())
        {
            HandlerLog.RetryBudgetExhausted(_logger, _call.ClientRequestId ?? string.Empty);
            return false;
        }

        HandlerLog.Retrying(_logger, _call.ClientRequestId ?? string.Empty, failed.Number, Describe(failed), delay.TotalMilliseconds);
        _state.Metrics.Retry(failed.Request.RequestUri, ErrorType(failed));
        var cancel = new CancellationTokenSource(); // cancelled when the runner ends (also when the call's cancellation wakes it)
        Task due = delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, _call.TimeProvider, cancel.Token);
        _scheduled = (target, due, cancel);
        if (due.IsCompleted)
        {
            _wake.Set();
        }
        else
        {
            due.ContinueWith(static (_, wake) => ((WakeSignal)wake!).Set(), _wake, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return true;
    }

    private void StartScheduledIfDue()
    {
        if (_scheduled is not { Due.IsCompleted: true } scheduled)
        {
            return;
        }

        _scheduled = null;
        scheduled.Cancel.Dispose();
        Target target = scheduled.Target;
        RouteHealth? health = _state.HealthOf(target.Route);
        Admission admission = health?.TryAdmit() ?? Admission.Allowed;
        if (admission == Admission.Refused && TryStartNextTarget(target.Index, "the circuit of its route opened"))
        {
            return; // the route opened while the retry waited: another target answers instead
        }

        Start(target, admission == Admission.Refused ? health!.Force() : admission, health);
    }

    /// <summary>
    /// When an attempt's first-token timer fires, the attempt is kept and the next target starts beside it — the next
    /// fallback, or the same target again when there is none — if fewer than the maximum are in flight and the retry budget
    /// allows. So a slow first token can only arrive sooner, and a silent server costs one extra attempt at a time.
    /// </summary>
    private void HandleFiredHedgeTimers()
    {
        for (int i = 0, count = _inFlight.Count; i < count; i++) // not the hedges this starts
        {
            Attempt attempt = _inFlight[i];
            if (attempt.HedgeTimerHandled || !attempt.FirstTokenTimerFired)
            {
                continue;
            }

            attempt.HedgeTimerHandled = true;
            _call.RecordTimeout(OpenAIStreamTimeoutKind.FirstToken);
            if (_inFlight.Count >= _maxInFlight || !_isReplayable || !_state.Budget.TryWithdraw())
            {
                continue;
            }

            string reason = $"no content within the first-token timeout of {_call.Settings.FirstTokenTimeout.TotalSeconds:0.###} s";
            if (NextTarget(_furthestTarget, forceWhenAllRefuse: false) is { } next)
            {
                LogMove(attempt.Target, next.Target, reason);
                _state.Metrics.Hedge(attempt.Request.RequestUri);
                Start(next.Target, next.Admission, next.Health);
            }
            else if (_attemptsPerTarget[attempt.Target.Index] <= _call.Settings.MaxRetryAttempts
                && SameRouteAgain(attempt.Target) is { } again)
            {
                HandlerLog.Hedging(_logger, _call.ClientRequestId ?? string.Empty, attempt.Number + 1, reason);
                _state.Metrics.Hedge(attempt.Request.RequestUri);
                Start(attempt.Target, again.Admission, again.Health);
            }
            else
            {
                _state.Budget.Refund();
            }
        }
    }

    /// <summary>The admission of a hedge on <paramref name="target"/> itself; null when its route refuses (a hedge never goes to an open route).</summary>
    private (Admission Admission, RouteHealth? Health)? SameRouteAgain(Target target)
    {
        RouteHealth? health = _state.HealthOf(target.Route);
        Admission admission = health?.TryAdmit() ?? Admission.Allowed;
        return admission == Admission.Refused ? null : (admission, health);
    }

    /// <summary>Starts an attempt on the first target after <paramref name="after"/> that can answer; false when none is left.</summary>
    private bool TryStartNextTarget(int after, string? reason, bool forceWhenAllRefuse = true)
    {
        if (NextTarget(after, forceWhenAllRefuse) is not { } next)
        {
            return false;
        }

        if (reason is not null && _lastFailure is { } failed)
        {
            LogMove(failed.Target, next.Target, reason);
            _state.Metrics.Fallback(ErrorType(failed));
        }

        Start(next.Target, next.Admission, next.Health);
        return true;
    }

    /// <summary>
    /// The first target after <paramref name="after"/> that can take the request (a larger-context one when the request
    /// needs it) and whose route admits it. When every such target is refusing, the first of them anyway (as its circuit's
    /// trial), unless the options say to fail fast or the request has an attempt in flight already (a hedge never goes to an
    /// open route): the last target that could answer is never refused.
    /// </summary>
    private (Target Target, Admission Admission, RouteHealth? Health)? NextTarget(int after, bool forceWhenAllRefuse = true)
    {
        Target? firstRefused = null;
        for (int i = after + 1; i < _targets.Count; i++)
        {
            Target target = _targets[i];
            if (_needsLargerContext && !target.HasLargerContextWindow)
            {
                continue;
            }

            if (i > 0 && !_isReplayable)
            {
                break;
            }

            RouteHealth? health = _state.HealthOf(target.Route);
            Admission admission = health?.TryAdmit() ?? Admission.Allowed;
            if (admission != Admission.Refused)
            {
                return (target, admission, health);
            }

            firstRefused ??= target;
        }

        if (firstRefused is null || !forceWhenAllRefuse || _state.FailFastWhenAllOpen)
        {
            return null;
        }

        RouteHealth forced = _state.HealthOf(firstRefused.Route)!;
        return (firstRefused, forced.Force(), forced);
    }

    private void Start(Target target, Admission admission, RouteHealth? health)
    {
        int number = _call.NextAttemptNumber();
        _attemptsPerTarget[target.Index]++;
        _furthestTarget = Math.Max(_furthestTarget, target.Index);
        HttpRequestMessage request = _targets.CreateRequest(target, number);
        if (number > 1 || target.Index > 0)
        {
            _call.Own(request); // every request but the caller's own
        }

        SetAttemptHeaders(request, number);
        var attempt = new Attempt(number, target, request, admission, health, _call);
        _inFlight.Add(attempt);
        if (_call.IsCancelled)
        {
            attempt.Cancel(); // the call was cancelled since the runner looked: nothing is sent (the runner wakes to it next)
        }

        attempt.Start(_send, _isStream, _options.MaxEventSize, _wake);
        if (_isStream && _call.Settings.FirstTokenTimeout != Timeout.InfiniteTimeSpan && !attempt.IsDone)
        {
            attempt.ArmFirstTokenTimer(_call.Settings.FirstTokenTimeout, _call.TimeProvider);
        }
    }

    /// <summary>Nothing is in flight or scheduled: the call's outcome is its last failure.</summary>
    private Attempt Final()
    {
        if (_lastFailure is null)
        {
            throw CircuitOpen();
        }

        if (_lastError is { } error)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }

        return _lastFailure; // an error status (or a stream that ended before its content): the reader reports it
    }

    /// <summary>The call was cancelled (by the caller) or timed out (total): the error to report, named once.</summary>
    private Exception Cancelled() =>
        _cancelled ??= _call.Interruption(_lastError, requestId: null)
            ?? new OperationCanceledException("The request was cancelled.", _call.CallerToken);

    /// <summary>Names an attempt's failure: a connect timeout as such; anything else as it was.</summary>
    private Exception Named(Exception error, Attempt attempt)
    {
        if (error is OperationCanceledException { InnerException: TimeoutException } && !attempt.WasCancelled && !_call.IsCancelled)
        {
            return _call.Timeout(OpenAIStreamTimeoutKind.Connect, _options.ConnectTimeout, requestId: null, error);
        }

        return error;
    }

    private bool HasLargerContextAfter(int index)
    {
        for (int i = index + 1; i < _targets.Count; i++)
        {
            if (_targets[i].HasLargerContextWindow)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a 400 response is a <c>context_length_exceeded</c> error worth sending to a larger-context fallback. Its body
    /// is read (bounded) to find the code, and put back so the caller can still read it.
    /// </summary>
    private async ValueTask<bool> IsContextLengthErrorAsync(HttpResponseMessage response)
    {
        byte[] bytes = await StreamingResponse.ReadBoundedAsync(response.Content, _options.MaxErrorBodyBytes, _call.Token).ConfigureAwait(false);
        var buffered = new ByteArrayContent(bytes);
        foreach (KeyValuePair<string, System.Net.Http.Headers.HeaderStringValues> header in response.Content.Headers.NonValidated)
        {
            if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        response.Content.Dispose();
        response.Content = buffered;
        return OpenAIErrorReader.TryRead(bytes, out OpenAIErrorInfo error) && error.Code == "context_length_exceeded";
    }

    private OpenAIStreamException CircuitOpen()
    {
        string route = _targets[0].Route;
        return new OpenAIStreamException(
            $"The circuit of every target ({route} first) is open after repeated failures, and the options say to fail fast, so the request was not sent.",
            statusCode: null,
            errorType: "circuit_open",
            errorCode: "circuit_open",
            param: null,
            requestId: null,
            isRetryable: true);
    }

    private void LogMove(Target from, Target to, string reason) =>
        HandlerLog.FallingBack(_logger, _call.ClientRequestId ?? string.Empty, from.ToString(), to.ToString(), reason);

    private static void SetAttemptHeaders(HttpRequestMessage request, int attempt)
    {
        request.Headers.Remove(AttemptHeader);
        request.Headers.TryAddWithoutValidation(AttemptHeader, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Remove(RetryCountHeader);
        request.Headers.TryAddWithoutValidation(RetryCountHeader, (attempt - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The <c>error.type</c> of a failed attempt for metrics: its status code, or its exception's type name.</summary>
    private static string ErrorType(Attempt attempt) =>
        attempt.Error is { } ex
            ? ex.GetType().Name
            : attempt.Response is { } response
                ? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)
                : "empty_stream";

    /// <summary>A failed attempt for logs: <c>HTTP 503</c>, or its exception's type name.</summary>
    private static string Describe(Attempt attempt) =>
        attempt.Error is null && attempt.Response is not null ? "HTTP " + ErrorType(attempt) : ErrorType(attempt);

    /// <summary>Gets the request id header every attempt carries.</summary>
    internal static string ClientRequestIdHeaderName => ClientRequestIdHeader;
}
