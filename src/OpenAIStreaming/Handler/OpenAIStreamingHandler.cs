using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAIStreaming.Handler.Internal;
using OpenAIStreaming.Internal;
using OpenAIStreaming.Client.Internal;
using OpenAIStreaming.Protocol.Internal;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using OpenAIStreaming.Fallback.Internal;
using OpenAIStreaming.Retry.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming;

/// <summary>
/// A <see cref="DelegatingHandler"/> that gives OpenAI-style requests layered timeouts and bounded retries inside the
/// caller's own <see cref="HttpClient"/>. Any client reading through it (this library's reader, the official OpenAI SDK, plain
/// <see cref="HttpClient"/> code) gets the protection without code changes.
/// </summary>
/// <remarks>
/// <para><b>Stream detection.</b> The request body is buffered once (at most
/// <see cref="OpenAIStreamingOptions.MaxRequestBodyBytes"/>) so it can be sent again; a request is a stream request when that
/// body is a JSON object with <c>"stream": true</c>. The <c>Accept</c> header is not consulted.</para>
/// <para><b>The commit point.</b> For a stream request with a success status the handler reads the body until the first
/// complete server-sent event arrives, before it returns the response; those bytes are replayed to the consumer, followed by
/// the live stream. Until then nothing has reached the consumer, so a failure can be retried; after it, nothing is retried.
/// Other requests commit when the response headers arrive.</para>
/// <para><b>Retries</b> (at most <see cref="OpenAIStreamingOptions.MaxRetryAttempts"/>, and only while the shared retry
/// budget allows): <see cref="HttpRequestException"/> (connect failures, resets), an I/O error or an empty body before the
/// first event, connect and first-token timeouts, and the statuses 408, 409, 429 and 5xx. <c>x-should-retry: true/false</c>
/// overrides the status. 400, 401, 403, 404 and 422 (for example <c>context_length_exceeded</c>) come back after one
/// attempt. Delays: <c>retry-after-ms</c>, else <c>Retry-After</c> (seconds or HTTP date), else
/// <c>RetryBaseDelay * 2^n</c> ± <see cref="OpenAIStreamingOptions.RetryJitter"/>. When the server asks for longer than
/// <see cref="OpenAIStreamingOptions.MaxRetryAfter"/> or than the total timeout has left, the handler does not wait: it
/// returns that error response at once (so the reader reports its status, OpenAI error fields and <c>x-request-id</c>).
/// Every attempt carries the same <c>x-client-request-id</c> (a new GUID when the request has none) and its number in
/// <c>x-attempt</c> (1-based) and <c>x-stainless-retry-count</c> (0-based, as the official SDKs send). Every response that is
/// not returned is disposed.</para>
/// <para><b>Timeouts.</b> Connect: <see cref="SocketsHttpHandler.ConnectTimeout"/> on the primary handler
/// (<see cref="CreatePrimaryHandler"/>). First token: from sending to the first event, never on the last attempt. Idle: on
/// every read of the body after the first event. Total: the whole call including retries and the body. A timeout surfaces as
/// <see cref="OpenAIStreamTimeoutException"/>; the caller's cancellation as <see cref="OperationCanceledException"/>.</para>
/// <para>Place it closest to the wire: with <c>AddStandardResilienceHandler</c>, add that one first so this handler sits
/// inside it. <see cref="HttpClient.Timeout"/> also bounds the wait for the first event; set it to
/// <see cref="Timeout.InfiniteTimeSpan"/> and let <see cref="OpenAIStreamingOptions.TotalTimeout"/> govern.</para>
/// </remarks>
public sealed class OpenAIStreamingHandler : DelegatingHandler
{
    private const string ClientRequestIdHeader = "x-client-request-id";
    private const string AttemptHeader = "x-attempt";
    private const string RetryCountHeader = "x-stainless-retry-count";

    private readonly OpenAIStreamingOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly HandlerSharedState _state;
    private readonly bool _ownsState;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly Random? _random;
    private readonly Lock _randomLock = new();

    /// <summary>Creates the handler. Set <see cref="DelegatingHandler.InnerHandler"/> (for example to <see cref="CreatePrimaryHandler"/>) before use.</summary>
    /// <param name="options">The options; they are validated and copied, so later changes to the instance have no effect.</param>
    /// <param name="timeProvider">The clock for every timeout and delay; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Creates the handler's logger; nothing is logged when null.</param>
    /// <param name="meterFactory">
    /// Creates the <c>OpenAIStreaming</c> meter (retries, timeouts by kind, time to the first event, fallbacks, circuit
    /// openings); when null the handler creates the meter itself and disposes it with the handler.
    /// </param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options break a rule.</exception>
    public OpenAIStreamingHandler(OpenAIStreamingOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(options, timeProvider, loggerFactory, random: null, sharedState: null, meterFactory)
    {
    }

    /// <summary>
    /// Creates the handler with a seeded random source for the retry jitter (tests) and, with dependency injection, the
    /// retry budget and circuit breakers shared by every handler instance of one named client.
    /// </summary>
    internal OpenAIStreamingHandler(OpenAIStreamingOptions options, TimeProvider? timeProvider, ILoggerFactory? loggerFactory, Random? random, HandlerSharedState? sharedState = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options.Clone();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = CreateLogger(loggerFactory);
        _ownsState = sharedState is null;
        _state = sharedState ?? new HandlerSharedState(_options, _timeProvider, _logger, meterFactory);
        _random = random;
        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _timeProvider }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "OpenAIStreaming.Retry",
                MaxRetryAttempts = OpenAIStreamingDefaultValues.MaxRetryAttemptsLimit, // the per-request limit is applied in ShouldHandle
                BackoffType = DelayBackoffType.Exponential,
                Delay = _options.RetryBaseDelay,
                UseJitter = false, // our own jitter (±RetryJitter, seeded in tests) is applied when the delay is chosen
                ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.Context.Properties.GetValue(CallState.Key, null!), args.AttemptNumber)),
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Context.Properties.GetValue(CallState.Key, null!).NextDelay),
                OnRetry = args =>
                {
                    CallState call = args.Context.Properties.GetValue(CallState.Key, null!);
                    DisposeAttempt(call, args.Outcome.Result);
                    HandlerLog.Retrying(_logger, call.ClientRequestId, args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay.TotalMilliseconds);
                    _state.Metrics.Retry(call.Request.RequestUri, ErrorType(args.Outcome));
                    return default;
                },
            })
            .Build();
    }

    /// <summary>Gets what the requests through this handler share (the retry budget, the circuits).</summary>
    internal HandlerSharedState SharedState => _state;

    internal static ILogger CreateLogger(ILoggerFactory? loggerFactory) =>
        (ILogger?)loggerFactory?.CreateLogger<OpenAIStreamingHandler>() ?? NullLogger.Instance;

    /// <summary>
    /// Creates the tuned primary handler this library uses with dependency injection: pooled connections renewed every
    /// 5 minutes and closed after 90 seconds idle, up to 256 connections per server, several HTTP/2 connections when one is
    /// full, keep-alive pings every 30 seconds (10-second timeout), <see cref="OpenAIStreamingOptions.ConnectTimeout"/> as the
    /// connect timeout, and automatic decompression. It never follows a redirect: OpenAI-style APIs do not redirect, and a
    /// followed redirect would carry the request's headers (keys such as <c>api-key</c>) and prompt to another server; a 3xx
    /// answer reaches the caller as what it is.
    /// </summary>
    /// <param name="options">The options (only <see cref="OpenAIStreamingOptions.ConnectTimeout"/> is read).</param>
    /// <returns>A new handler; the caller owns it.</returns>
    public static SocketsHttpHandler CreatePrimaryHandler(OpenAIStreamingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new SocketsHttpHandler
        {
            PooledConnectionLifetime = OpenAIStreamingDefaultValues.PooledConnectionLifetime,
            PooledConnectionIdleTimeout = OpenAIStreamingDefaultValues.PooledConnectionIdleTimeout,
            MaxConnectionsPerServer = OpenAIStreamingDefaultValues.MaxConnectionsPerServer,
            EnableMultipleHttp2Connections = true,
            AllowAutoRedirect = false,
            KeepAlivePingDelay = OpenAIStreamingDefaultValues.KeepAlivePingDelay,
            KeepAlivePingTimeout = OpenAIStreamingDefaultValues.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = options.ConnectTimeout,
            AutomaticDecompression = DecompressionMethods.All,
        };
    }

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequestSettings settings = RequestSettings.For(_options, request.Options);
        RequestBodyBuffer.Result body = await RequestBodyBuffer.PrepareAsync(request, _options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
        string clientRequestId = EnsureClientRequestId(request);
        _state.Budget.Deposit();

        var totalCts = new CancellationTokenSource(settings.TotalTimeout, _timeProvider);
        bool handedOver = false;
        try
        {
            using var callCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, totalCts.Token);
            var call = new CallState(request, settings, body.IsStream, body.IsReplayable, clientRequestId, _timeProvider.GetTimestamp(), totalCts, cancellationToken);
            Outcome<HttpResponseMessage> outcome = await SendToTargetsAsync(call, body, callCts.Token).ConfigureAwait(false);

            HttpResponseMessage? response = outcome.Result;
            if (outcome.Exception is not null || call.IsCancelled)
            {
                DisposeAttempt(call, response);
                Exception error = Translate(outcome.Exception, call, cancellationToken);
                if (error is OpenAIStreamTimeoutException { Kind: OpenAIStreamTimeoutKind.Total })
                {
                    _state.Metrics.Timeout(OpenAIStreamTimeoutKind.Total);
                }

                throw error;
            }

            ArgumentNullException.ThrowIfNull(response);
            FirstEventPrefetch? prefetch = ReferenceEquals(call.PrefetchOwner, response) ? call.Prefetch : null;
            bool isEventStream = call.IsStream && response.IsSuccessStatusCode;
            CallContent.Install(response, prefetch, isEventStream, settings, totalCts, _timeProvider, _options, _state.Metrics);
            handedOver = true;
            return response;
        }
        finally
        {
            if (!handedOver)
            {
                totalCts.Dispose();
            }
        }
    }

    /// <summary>
    /// Runs the retry pipeline against the request's own target, then, while the outcome allows it, against each fallback in
    /// turn. Returns the first success, else the last real failure (a target skipped for its open circuit does not replace
    /// an earlier failure); every other response is disposed.
    /// </summary>
    private async ValueTask<Outcome<HttpResponseMessage>> SendToTargetsAsync(CallState call, RequestBodyBuffer.Result body, CancellationToken token)
    {
        var targets = new RequestTargets(call.Request, body.Body, call.IsReplayable ? _options.Fallbacks : []);
        Outcome<HttpResponseMessage>? last = null;
        int tried = -1;
        bool needsLargerContext = false;
        for (int index = 0; index < targets.Count; index++)
        {
            if ((needsLargerContext && !targets.HasLargerContextWindow(index)) || !targets.TryApply(index))
            {
                continue;
            }

            if (last is { } previous)
            {
                HandlerLog.FallingBack(_logger, call.ClientRequestId, targets.Describe(tried), targets.Describe(index), Describe(previous));
                _state.Metrics.Fallback(ErrorType(previous));
            }

            tried = index;
            call.HasNextTarget = targets.HasTargetAfter(index, needsLargerContext, _state.IsBlocked);
            call.AttemptsInTarget = 0;
            call.Breaker = _state.BreakerFor(call.Request.RequestUri);
            Outcome<HttpResponseMessage> outcome = await RunRetriesAsync(call, token).ConfigureAwait(false);
            if (outcome.Exception is BrokenCircuitException && last is not null)
            {
                continue; // an endpoint skipped for its open circuit: the earlier failure tells the caller more
            }

            if (last is { } replaced)
            {
                DisposeAttempt(call, replaced.Result);
            }

            last = outcome;
            NextStep next;
            try
            {
                next = await NextStepAsync(outcome, call, targets.HasTargetAfter(index, needsLargerContext: true, static _ => false), token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Reading a 400's body to look for context_length_exceeded failed (the total timeout, the caller, a reset):
                // that failure is the call's outcome, and the 400 is released.
                DisposeAttempt(call, outcome.Result);
                return Outcome.FromException<HttpResponseMessage>(ex);
            }

            switch (next)
            {
                case NextStep.Finish:
                    return outcome;
                case NextStep.LargerContext:
                    needsLargerContext = true;
                    break;
            }
        }

        return last ?? Outcome.FromException<HttpResponseMessage>(new InvalidOperationException("No target could take the request."));
    }

    /// <summary>What an outcome means for the chain: done (success, cancellation, or an error every target would give too), try the next target, or try only larger-context targets.</summary>
    private async ValueTask<NextStep> NextStepAsync(Outcome<HttpResponseMessage> outcome, CallState call, bool largerContextAhead, CancellationToken token)
    {
        if (call.IsCancelled)
        {
            return NextStep.Finish;
        }

        if (outcome.Exception is { } exception)
        {
            return exception is BrokenCircuitException || IsRetryableException(exception) ? NextStep.NextTarget : NextStep.Finish;
        }

        HttpResponseMessage response = outcome.Result!;
        if (IsRetryableResponse(call, response))
        {
            return NextStep.NextTarget; // its retries are used up (or the server asked to wait too long)
        }

        return largerContextAhead && await IsContextLengthErrorAsync(response, token).ConfigureAwait(false) ? NextStep.LargerContext : NextStep.Finish;
    }

    private async ValueTask<Outcome<HttpResponseMessage>> RunRetriesAsync(CallState call, CancellationToken token)
    {
        ResilienceContext context = ResilienceContextPool.Shared.Get(token);
        try
        {
            context.Properties.Set(CallState.Key, call);
            return await _pipeline.ExecuteOutcomeAsync(
                static (ctx, state) => state.Handler.AttemptThroughBreakerAsync(ctx, state.Call),
                context,
                (Handler: this, Call: call)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private ValueTask<Outcome<HttpResponseMessage>> AttemptThroughBreakerAsync(ResilienceContext context, CallState call) =>
        call.Breaker is { } breaker
            ? breaker.ExecuteOutcomeAsync(static (ctx, state) => state.Handler.AttemptAsync(ctx, state.Call), context, (Handler: this, Call: call))
            : AttemptAsync(context, call);

    /// <summary>
    /// Whether a 400 response is a <c>context_length_exceeded</c> error worth sending to a larger-context fallback. Its body
    /// is read (bounded) to find the code, and put back so the caller can still read it.
    /// </summary>
    private async ValueTask<bool> IsContextLengthErrorAsync(HttpResponseMessage response, CancellationToken token)
    {
        if ((int)response.StatusCode != 400)
        {
            return false;
        }

        byte[] bytes = await StreamingResponse.ReadBoundedAsync(response.Content, _options.MaxErrorBodyBytes, token).ConfigureAwait(false);
        var buffered = new ByteArrayContent(bytes);
        foreach (KeyValuePair<string, HeaderStringValues> header in response.Content.Headers.NonValidated)
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

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsState)
        {
            _state.Dispose();
        }

        base.Dispose(disposing);
    }

    private static string EnsureClientRequestId(HttpRequestMessage request)
    {
        if (request.Headers.NonValidated.TryGetValues(ClientRequestIdHeader, out HeaderStringValues values))
        {
            foreach (string value in values)
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    return value;
                }
            }
        }

        string id = Guid.NewGuid().ToString();
        request.Headers.Remove(ClientRequestIdHeader);
        request.Headers.TryAddWithoutValidation(ClientRequestIdHeader, id);
        return id;
    }

    private static void SetAttemptHeaders(HttpRequestMessage request, int attempt)
    {
        request.Headers.Remove(AttemptHeader);
        request.Headers.TryAddWithoutValidation(AttemptHeader, (attempt + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Remove(RetryCountHeader);
        request.Headers.TryAddWithoutValidation(RetryCountHeader, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void DisposeAttempt(CallState call, HttpResponseMessage? response)
    {
        if (response is null)
        {
            return;
        }

        if (ReferenceEquals(call.PrefetchOwner, response))
        {
            call.Prefetch?.Source.Dispose();
            call.Prefetch = null;
            call.PrefetchOwner = null;
        }

        response.Dispose();
    }

    private static Exception Translate(Exception? exception, CallState call, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException("The request was cancelled by the caller.", exception, cancellationToken);
        }

        if (call.TotalCts.IsCancellationRequested)
        {
            return new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Total, call.Settings.TotalTimeout, requestId: null, exception);
        }

        if (exception is BrokenCircuitException broken)
        {
            string endpoint = call.Request.RequestUri is { IsAbsoluteUri: true } uri ? $"{uri.Scheme}://{uri.Authority}" : "the endpoint";
            string retry = broken.RetryAfter is { } after ? $" It will be tried again in {after.TotalSeconds:0.###} s." : string.Empty;
            return new OpenAIStreamException(
                $"The circuit for {endpoint} is open after repeated failures and no fallback could answer, so the request was not sent.{retry}",
                statusCode: null,
                errorType: "circuit_open",
                errorCode: "circuit_open",
                param: null,
                requestId: null,
                isRetryable: true,
                innerException: broken);
        }

        ExceptionDispatchInfo.Throw(exception!);
        return exception!;
    }

    /// <summary>The <c>error.type</c> of a failed attempt for metrics: its status code, or its exception's type name.</summary>
    private static string ErrorType(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } ex
            ? ex.GetType().Name
            : ((int)outcome.Result!.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A failed attempt for logs: <c>HTTP 503</c>, or its exception's type name.</summary>
    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is null ? "HTTP " + ErrorType(outcome) : ErrorType(outcome);

    private async ValueTask<Outcome<HttpResponseMessage>> AttemptAsync(ResilienceContext context, CallState call)
    {
        SetAttemptHeaders(call.Request, call.Attempts++);
        TimeSpan firstToken = call.IsStream && ArmsFirstTokenTimer(call, call.AttemptsInTarget++) ? call.Settings.FirstTokenTimeout : Timeout.InfiniteTimeSpan;
        CancellationTokenSource? firstTokenCts = null;
        CancellationTokenSource? attemptCts = null;
        CancellationToken token = context.CancellationToken;
        if (firstToken != Timeout.InfiniteTimeSpan)
        {
            firstTokenCts = new CancellationTokenSource(firstToken, _timeProvider);
            attemptCts = CancellationTokenSource.CreateLinkedTokenSource(token, firstTokenCts.Token);
            token = attemptCts.Token;
        }

        HttpResponseMessage? response = null;
        Uri? sent = call.Request.RequestUri;
        try
        {
            response = await base.SendAsync(call.Request, token).ConfigureAwait(false);
            ThrowIfRedirectedAway(sent, response);
            if (call.IsStream && response.IsSuccessStatusCode && !StreamingResponse.IsJson(response.Content.Headers.ContentType))
            {
                FirstEventPrefetch prefetch = await FirstEventPrefetch.ReadAsync(response, token).ConfigureAwait(false);
                call.Prefetch = prefetch;
                call.PrefetchOwner = response;
                if (prefetch.SawEvent)
                {
                    _state.Metrics.FirstEvent(call.Request.RequestUri, _timeProvider.GetElapsedTime(call.StartTimestamp));
                }
            }

            return Outcome.FromResult(response);
        }
        catch (Exception ex)
        {
            if (response is not null)
            {
                DisposeAttempt(call, response);
            }

            if (!context.CancellationToken.IsCancellationRequested)
            {
                if (firstTokenCts is { IsCancellationRequested: true })
                {
                    ex = new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.FirstToken, firstToken, StreamingResponseRequestId(response), ex);
                    _state.Metrics.Timeout(OpenAIStreamTimeoutKind.FirstToken);
                }
                else if (ex is OperationCanceledException { InnerException: TimeoutException })
                {
                    ex = new OpenAIStreamTimeoutException(OpenAIStreamTimeoutKind.Connect, _options.ConnectTimeout, requestId: null, ex);
                    _state.Metrics.Timeout(OpenAIStreamTimeoutKind.Connect);
                }
            }

            return Outcome.FromException<HttpResponseMessage>(ex);
        }
        finally
        {
            attemptCts?.Dispose();
            firstTokenCts?.Dispose();
        }
    }

    /// <summary>
    /// An inner handler that follows redirects (a primary handler that is not this library's) may have sent the request to
    /// another origin: its answer is not the server's, and is refused.
    /// </summary>
    private void ThrowIfRedirectedAway(Uri? sent, HttpResponseMessage response)
    {
        Uri? answered = response.RequestMessage?.RequestUri;
        if (Origin.Same(sent, answered))
        {
            return;
        }

        HandlerLog.RedirectedAway(_logger, answered!.Authority);
        throw StreamingResponse.RedirectedAway(answered, response);
    }

    private static string? StreamingResponseRequestId(HttpResponseMessage? response) =>
        response is null ? null : StreamingResponse.RequestIdOf(response);

    /// <summary>
    /// Whether this attempt gets a first-token timer, which only an attempt that is not the last of the call does: a
    /// fallback target follows (one whose endpoint is not refusing requests), or a retry of this target is possible and
    /// affordable — a retry left, enough of the total timeout for the timer plus the longest backoff, and a token of the
    /// retry budget, which is reserved now (and given back if unused) so that no concurrent call can spend it before this
    /// attempt's timer fires.
    /// </summary>
    private bool ArmsFirstTokenTimer(CallState call, int attempt)
    {
        if (call.HasNextTarget)
        {
            return true;
        }

        if (!call.IsReplayable || attempt >= call.Settings.MaxRetryAttempts
            || call.Settings.FirstTokenTimeout + BackoffCeiling(attempt) >= TimeLeft(call)
            || !_state.Budget.TryWithdraw())
        {
            return false;
        }

        call.ReservedRetry = true;
        return true;
    }

    private TimeSpan TimeLeft(CallState call) =>
        call.Settings.TotalTimeout == Timeout.InfiniteTimeSpan
            ? TimeSpan.MaxValue
            : call.Settings.TotalTimeout - _timeProvider.GetElapsedTime(call.StartTimestamp);

    private TimeSpan BackoffCeiling(int attempt) => Backoff(attempt, 1.0);

    private TimeSpan Backoff(int attempt, double unitRandom)
    {
        double factor = 1 + (_options.RetryJitter * ((2 * unitRandom) - 1));
        return TimeSpan.FromTicks((long)(_options.RetryBaseDelay.Ticks * Math.Pow(2, attempt) * factor));
    }

    private double NextRandom()
    {
        if (_random is null)
        {
            return Random.Shared.NextDouble();
        }

        lock (_randomLock)
        {
            return _random.NextDouble();
        }
    }

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, CallState call, int attempt)
    {
        bool reserved = call.ReservedRetry;
        call.ReservedRetry = false;
        bool retry = DecideRetry(outcome, call, attempt, reserved);
        if (!retry && reserved)
        {
            _state.Budget.Refund();
        }

        return retry;
    }

    // reserved: whether the attempt holds a retry token reserved when its first-token timer was armed.
    private bool DecideRetry(Outcome<HttpResponseMessage> outcome, CallState call, int attempt, bool reserved)
    {
        if (call.IsCancelled || !call.IsReplayable || attempt >= call.Settings.MaxRetryAttempts)
        {
            return false;
        }

        TimeSpan? serverDelay = null;
        if (outcome.Exception is { } exception)
        {
            if (!IsRetryableException(exception) || (call.HasNextTarget && exception is OpenAIStreamTimeoutException { Kind: OpenAIStreamTimeoutKind.FirstToken }))
            {
                return false; // a first-token miss moves the request to the next target at once rather than waiting here again
            }
        }
        else
        {
            HttpResponseMessage response = outcome.Result!;
            if (!IsRetryableResponse(call, response))
            {
                return false;
            }

            serverDelay = RetryAfterHeader.Read(response, _timeProvider.GetUtcNow());
        }

        TimeSpan timeLeft = TimeLeft(call);
        TimeSpan delay;
        if (serverDelay is TimeSpan requested)
        {
            TimeSpan allowed = _options.MaxRetryAfter < timeLeft ? _options.MaxRetryAfter : timeLeft;
            if (requested > allowed)
            {
                HandlerLog.RetryAfterTooLong(_logger, call.ClientRequestId, requested.TotalMilliseconds, allowed.TotalMilliseconds);
                return false;
            }

            delay = requested;
        }
        else
        {
            delay = Backoff(attempt, NextRandom());
            if (delay >= timeLeft)
            {
                if (!reserved)
                {
                    return false;
                }

                // The timer was armed on the promise of a retry, and it fired: keep the promise, without a wait.
                delay = TimeSpan.Zero;
            }
        }

        if (!reserved && !_state.Budget.TryWithdraw())
        {
            HandlerLog.RetryBudgetExhausted(_logger, call.ClientRequestId);
            return false;
        }

        call.NextDelay = delay;
        return true;
    }

    private static bool IsRetryableException(Exception exception) =>
        exception switch
        {
            OpenAIStreamTimeoutException timeout => timeout.IsRetryable,
            OpenAIStreamException { IsBrokenBody: true } => true, // the body broke off before the first event: nothing was delivered
            OpenAIStreamException => false, // for example an oversized event: sending again gives the same answer
            HttpRequestException => true,
            IOException => true,
            _ => false,
        };

    private static bool IsRetryableResponse(CallState call, HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode)
        {
            // A stream that ended before its first event delivered nothing: sending again is safe.
            return call.EndedBeforeFirstEvent(response);
        }

        if (response.Headers.NonValidated.TryGetValues("x-should-retry", out HeaderStringValues values))
        {
            foreach (string value in values)
            {
                if (value.Equals("true", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }

                if (value.Equals("false", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            }
        }

        return OpenAIErrorInfo.IsRetryableStatus((int)response.StatusCode);
    }

    private enum NextStep
    {
        Finish,
        NextTarget,
        LargerContext,
    }
}
