using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAIStreaming.Fallback.Internal;
using OpenAIStreaming.Handler.Internal;
using OpenAIStreaming.Retry.Internal;
using OpenAIStreaming.Streaming.Internal;

namespace OpenAIStreaming;

/// <summary>
/// A <see cref="DelegatingHandler"/> that gives OpenAI-style requests layered timeouts, bounded retries, a hedged first token,
/// fallbacks and health per route inside the caller's own <see cref="HttpClient"/>. Any client reading through it (this
/// library's reader, the official OpenAI SDK, plain <see cref="HttpClient"/> code) gets the protection without code changes.
/// </summary>
/// <remarks>
/// <para><b>Stream detection.</b> The request body is buffered once (at most
/// <see cref="OpenAIStreamingOptions.MaxRequestBodyBytes"/>) so it can be sent again; a request is a stream request when that
/// body is a JSON object with <c>"stream": true</c>. The <c>Accept</c> header is not consulted.</para>
/// <para><b>The commit point</b> of a stream is its first event that carries content: text, a refusal, reasoning, audio, a
/// tool-call delta, a Responses output or reasoning delta, a finish reason, a terminal or error event — not a role-only chunk, an empty <c>content</c>, a
/// keep-alive or an Azure prompt-filter chunk. The handler reads the body up to it before it returns the response; those
/// bytes are replayed to the consumer, followed by the live stream. Until then nothing has reached the consumer, so a
/// failure can be retried; after it, nothing is retried. Other requests commit when the response headers arrive.</para>
/// <para><b>Retries</b> (at most <see cref="OpenAIStreamingOptions.MaxRetryAttempts"/> per target, and only while the shared
/// retry budget allows): connect failures and resets (<see cref="HttpRequestException"/>), a body that breaks off, is
/// malformed or ends before its first content, connect timeouts, and the statuses 408, 409, 429 and 5xx.
/// <c>x-should-retry: true/false</c> overrides the status. 400, 401, 403, 404 and 422 come back after one attempt. Delays:
/// <c>retry-after-ms</c>, else <c>Retry-After</c> (seconds or HTTP date), else <c>RetryBaseDelay * 2^n</c> ±
/// <see cref="OpenAIStreamingOptions.RetryJitter"/>. When the server asks for longer than
/// <see cref="OpenAIStreamingOptions.MaxRetryAfter"/> or than the total timeout has left, the request moves to the next
/// fallback, or — with none — that error response is returned at once. Every attempt carries the same
/// <c>x-client-request-id</c> (a new GUID when the request has none) and its number in <c>x-attempt</c> (1-based) and
/// <c>x-stainless-retry-count</c> (0-based, as the official SDKs send). Every response that is not returned is disposed.</para>
/// <para><b>A first token that only ever helps.</b> When a stream's first content has not arrived within
/// <see cref="OpenAIStreamingOptions.FirstTokenTimeout"/>, the attempt is kept and the next target starts beside it (the next
/// fallback, or the same target again); the first to deliver content wins and the others are cancelled. At most
/// <see cref="OpenAIStreamingOptions.MaxHedgedAttempts"/> attempts are in flight, and hedges draw from the retry budget.</para>
/// <para><b>Health per route</b> (an endpoint and a model, or an Azure deployment): see
/// <see cref="OpenAIStreamingCircuitBreakerOptions"/>. A route whose circuit is open is skipped while another target can
/// answer; the last target that could answer is never refused.</para>
/// <para><b>Timeouts.</b> Connect: <see cref="SocketsHttpHandler.ConnectTimeout"/> on the primary handler
/// (<see cref="CreatePrimaryHandler"/>). Idle: on every read of a stream body after the commit point. Total: the whole call,
/// every attempt and the body. A timeout surfaces as <see cref="OpenAIStreamTimeoutException"/>; the caller's cancellation as
/// <see cref="OperationCanceledException"/>. The token given to <c>SendAsync</c> cancels the call until the response is
/// returned, as <see cref="HttpClient"/>'s own does; the body's reads then take the token of each read (or the response is
/// disposed): neither that token nor <see cref="HttpClient.CancelPendingRequests"/> cuts a stream already returned.</para>
/// <para>The handler works asynchronously only: <see cref="Send"/> throws <see cref="NotSupportedException"/>. With dependency
/// injection, <c>AddOpenAIStreaming()</c> takes the client's other resilience handlers (such as the standard one .NET Aspire
/// adds to every client) out of its chain; without it, do not put this handler inside another retrying or timing handler.
/// Set <see cref="HttpClient.Timeout"/> to <see cref="Timeout.InfiniteTimeSpan"/> and let
/// <see cref="OpenAIStreamingOptions.TotalTimeout"/> govern.</para>
/// </remarks>
public sealed class OpenAIStreamingHandler : DelegatingHandler
{
    private const string ClientRequestIdHeader = "x-client-request-id";

    private readonly OpenAIStreamingOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly HandlerSharedState _state;
    private readonly bool _ownsState;
    private readonly RetryDelays _delays;
    private readonly Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> _sendInner;
    private readonly StreamRecovery _recovery;
    private bool? _primaryOpensHttp2Connections;

    /// <summary>Creates the handler. Set <see cref="DelegatingHandler.InnerHandler"/> (for example to <see cref="CreatePrimaryHandler"/>) before use.</summary>
    /// <param name="options">The options; they are validated and copied, so later changes to the instance have no effect.</param>
    /// <param name="timeProvider">The clock for every timeout and delay; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Creates the handler's logger; nothing is logged when null.</param>
    /// <param name="meterFactory">
    /// Creates the <c>OpenAIStreaming</c> meter (retries, hedges, timeouts by kind, time to the first content, fallbacks,
    /// circuit openings); when null the handler creates the meter itself and disposes it with the handler.
    /// </param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options break a rule.</exception>
    public OpenAIStreamingHandler(OpenAIStreamingOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(options, timeProvider, loggerFactory, random: null, sharedState: null, meterFactory)
    {
    }

    /// <summary>
    /// Creates the handler with a seeded random source for the retry jitter (tests) and, with dependency injection, the
    /// retry budget and route health shared by every handler instance of one named client.
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
        _delays = new RetryDelays(_options, random);
        _sendInner = base.SendAsync;
        _recovery = new StreamRecovery(this);
    }

    /// <summary>Gets what the calls through this handler share (the retry budget, the route health).</summary>
    internal HandlerSharedState SharedState => _state;

    internal static ILogger CreateLogger(ILoggerFactory? loggerFactory) =>
        (ILogger?)loggerFactory?.CreateLogger<OpenAIStreamingHandler>() ?? NullLogger.Instance;

    /// <summary>
    /// Creates the tuned primary handler this library uses with dependency injection: pooled connections renewed every
    /// 5 minutes and closed after 90 seconds idle, no cap on connections per server (or
    /// <see cref="OpenAIStreamingOptions.MaxConnectionsPerServer"/>), several HTTP/2 connections when one is full, keep-alive
    /// pings every 30 seconds (10-second timeout), <see cref="OpenAIStreamingOptions.ConnectTimeout"/> as the connect timeout,
    /// and automatic decompression. A stream never waits in the pool behind a cap below the load it is given. It never
    /// follows a redirect: OpenAI-style APIs do not redirect, and a followed redirect would carry the request's headers (keys
    /// such as <c>api-key</c>) and prompt to another server; a 3xx answer reaches the caller as what it is.
    /// </summary>
    /// <param name="options">The options (<see cref="OpenAIStreamingOptions.ConnectTimeout"/> and <see cref="OpenAIStreamingOptions.MaxConnectionsPerServer"/> are read).</param>
    /// <returns>A new handler; the caller owns it.</returns>
    public static SocketsHttpHandler CreatePrimaryHandler(OpenAIStreamingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new SocketsHttpHandler
        {
            PooledConnectionLifetime = OpenAIStreamingDefaultValues.PooledConnectionLifetime,
            PooledConnectionIdleTimeout = OpenAIStreamingDefaultValues.PooledConnectionIdleTimeout,
            MaxConnectionsPerServer = options.MaxConnectionsPerServer ?? int.MaxValue,
            EnableMultipleHttp2Connections = true,
            AllowAutoRedirect = false,
            KeepAlivePingDelay = OpenAIStreamingDefaultValues.KeepAlivePingDelay,
            KeepAlivePingTimeout = OpenAIStreamingDefaultValues.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = options.ConnectTimeout,
            AutomaticDecompression = DecompressionMethods.All,
        };
    }

    /// <summary>Not supported: the handler's timers and hedged attempts need an asynchronous send, and it never blocks on one.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="NotSupportedException">Always: use <see cref="HttpClient.SendAsync(HttpRequestMessage, CancellationToken)"/> (or the SDK's asynchronous methods).</exception>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        throw new NotSupportedException(
            "OpenAIStreamingHandler works asynchronously only: call HttpClient.SendAsync (or the asynchronous methods of the OpenAI SDK, such as CompleteChatStreamingAsync) instead of Send.");

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequestSettings settings = RequestSettings.For(_options, request.Options);
        OpenAIStreamingOptionsValidator.CheckRequestFallbacks(request.Options);
        RequestBodyBuffer.Result body = await RequestBodyBuffer.PrepareAsync(request, _options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
        if (_options.IncludeUsage && body.IsStream && IsChatCompletions(request.RequestUri) && IncludeUsage.Add(body.Body.Span) is { } withUsage)
        {
            RequestBodyBuffer.Replace(request, withUsage);
            body = body with { Body = withUsage };
        }

        string clientRequestId = EnsureClientRequestId(request);
        if (PrimaryOpensHttp2Connections())
        {
            PreferHttp2(request);
        }
        _state.Budget.Deposit();

        var call = new CallContext(settings, _timeProvider, _state.Metrics, clientRequestId, cancellationToken);
        var targets = new TargetChain(request, body.Body, body.Model, TargetChain.Resolve(_options, request.Options, body.Model), body.IsReplayable);
        // A background response is stored and runs on (and is billed) on the server whether or not it is read: a hedge
        // would leave one running for nothing, so its attempts are never run side by side.
        var runner = new CallRunner(call, targets, _state, _options, _delays, _logger, _sendInner, body.IsStream, body.IsReplayable, maxInFlight: body.IsBackground ? 1 : null);
        Attempt? handedOver = null;
        try
        {
            Attempt outcome = await runner.RunAsync().ConfigureAwait(false);
            bool committed = outcome.Committed;
            HttpResponseMessage response = outcome.TakeResponse();
            handedOver = outcome;
            if (committed && body.IsStream)
            {
                WaitForTheBodysVerdict(call, outcome);
                if (body.IsReplayable && _options.Recovery.Enabled)
                {
                    int target = outcome.Target.Index;
                    bool canContinue = IsChatCompletions(request.RequestUri) && AcceptsPrefill(targets[target]) && Recovery.Internal.Continuation.IsEligible(body.Body.Span);
                    call.EnableRecovery(_options.Recovery, _recovery, targets, target, canContinue, canResume: body.IsBackground && IsResponses(request.RequestUri));
                }
            }

            // An event stream is bounded per event and by the idle timeout — also one the request did not ask for (a server
            // that streams regardless), which would otherwise be an unbounded body.
            bool isEventStream = response.IsSuccessStatusCode && (body.IsStream || IsEventStream(response));
            bool isChatStream = isEventStream && committed && body.IsStream && IsChatCompletions(request.RequestUri);
            bool isResponsesStream = isEventStream && committed && body.IsStream && IsResponses(request.RequestUri);
            CallContent.Install(response, outcome.Prefetch, isEventStream, call, _options, isChatStream, isResponsesStream);
            call.ReleaseCallerToken(); // as HttpClient's own: the body's reads take their own token
            return response;
        }
        catch
        {
            call.Dispose();
            throw;
        }
        finally
        {
            runner.DisposeAttempts(keep: handedOver); // every response but the one handed over is released
        }
    }

    private static bool IsChatCompletions(Uri? uri) =>
        uri is not null && uri.AbsolutePath.EndsWith("/chat/completions", StringComparison.Ordinal);

    private static bool IsResponses(Uri? uri) =>
        uri is not null && uri.AbsolutePath.TrimEnd('/').EndsWith("/responses", StringComparison.Ordinal);

    /// <summary>
    /// A stream's verdict waits for its body: a break after the commit point (cut, stalled, malformed) is a failure of the
    /// route, and a trial closes the circuit only when its stream ended well.
    /// </summary>
    private static void WaitForTheBodysVerdict(CallContext call, Attempt outcome)
    {
        call.ReadingFrom(outcome.Target.Route);
        if (outcome.Health is not { } health)
        {
            return;
        }

        call.OnBodyEnd(health, outcome.Admission);
    }

    /// <summary>
    /// Sends a broken stream's request again — to the target that was streaming first, then on along its chain, with the
    /// ordinary retries, hedging and health — and returns the replayed answer up to its first content and the rest of its
    /// body. Throws a typed error when the retry budget is spent or no target answers.
    /// </summary>
    /// <remarks>
    /// Given the <paramref name="delivered"/> text of a stream whose target continues an assistant prefill, it first asks
    /// that target to continue it (<see cref="OpenAIStreamingRecoveryOptions.ContinueWithAssistantPrefill"/>); when the
    /// target refuses or fails, it replays as usual, and the refusal is not the caller's error.
    /// </remarks>
    private async ValueTask<ReplayedBody> ReplayAsync(CallContext call, string? delivered, CancellationToken cancellationToken)
    {
        TargetChain targets = call.Targets!;
        int target = call.TargetIndex;
        if (delivered is not null && Recovery.Internal.Continuation.Body(targets[target].Body.Span, delivered) is { } continuation)
        {
            try
            {
                HttpRequestMessage request = targets.CreateRequest(targets[target], call.NextAttemptNumber(), continuation);
                return await SendRecoveryAsync(call, request, cancellationToken).ConfigureAwait(false) with { IsContinuation = true };
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !call.IsCancelled)
            {
                call.Metrics?.Recovery("continuation_refused"); // replayed instead: what the target said is not the caller's error
            }
        }

        if (!_state.Budget.TryWithdraw())
        {
            HandlerLog.RetryBudgetExhausted(_logger, call.ClientRequestId ?? string.Empty);
            throw new OpenAIStreamException("The stream broke and could not be recovered: the retry budget is spent.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var runner = new CallRunner(call, targets, _state, _options, _delays, _logger, _sendInner, isStream: true, isReplayable: true, startAt: target);
        Attempt? handedOver = null;
        try
        {
            Attempt outcome = await runner.RunAsync().ConfigureAwait(false);
            if (!outcome.Committed || outcome.Prefetch is not { } prefetch)
            {
                HttpResponseMessage failed = outcome.Response!;
                throw new OpenAIStreamException(
                    $"The stream broke and could not be recovered: its replay was answered with status {(int)failed.StatusCode}.",
                    (int)failed.StatusCode,
                    errorType: null,
                    errorCode: null,
                    param: null,
                    Client.Internal.StreamingResponse.RequestIdOf(failed),
                    isRetryable: false);
            }

            HttpResponseMessage response = outcome.TakeResponse();
            handedOver = outcome;
            WaitForTheBodysVerdict(call, outcome);
            string? requestId = Client.Internal.StreamingResponse.RequestIdOf(response);
            CallBodyStream remainder = CallBodyStream.Remainder(call, response, prefetch.Source, prefetch.Buffer, prefetch.CommittedLength, prefetch.Length, requestId, _options);
            return new ReplayedBody(response, prefetch.Events, remainder, requestId);
        }
        finally
        {
            runner.DisposeAttempts(keep: handedOver);
        }
    }

    /// <summary>
    /// Streams a broken background response again from the event after sequence number <paramref name="after"/>, from the
    /// target that was streaming it (<c>GET …/responses/{id}?stream=true&amp;starting_after=N</c>): the server sends the
    /// stored events with their own sequence numbers, and nothing is generated again. Throws a typed error when the server
    /// does not stream it (a stored response expires after some minutes).
    /// </summary>
    private ValueTask<ReplayedBody> ResumeAsync(CallContext call, string responseId, long after, CancellationToken cancellationToken) =>
        SendRecoveryAsync(call, call.Targets!.CreateResumeRequest(call.Targets[call.TargetIndex], responseId, after), cancellationToken);

    /// <summary>
    /// Sends one recovery request (a resume, or a continuation) to the target that was streaming, once — drawing on the
    /// retry budget, its first content within the first-token timeout, its body under the idle timeout — and returns its
    /// answer up to the first content and the rest of its body. Throws a typed error when it brings no content.
    /// </summary>
    private async ValueTask<ReplayedBody> SendRecoveryAsync(CallContext call, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        call.Own(request);
        if (!_state.Budget.TryWithdraw())
        {
            HandlerLog.RetryBudgetExhausted(_logger, call.ClientRequestId ?? string.Empty);
            throw new OpenAIStreamException("The stream broke and could not be recovered: the retry budget is spent.");
        }

        using var firstToken = new CancellationTokenSource(call.Settings.FirstTokenTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.Token, firstToken.Token);
        HttpResponseMessage? response = null;
        FirstContentPrefetch? prefetch = null;
        try
        {
            response = await _sendInner(request, linked.Token).ConfigureAwait(false);
            string? requestId = Client.Internal.StreamingResponse.RequestIdOf(response);
            if (!Internal.Origin.Same(request.RequestUri, response.RequestMessage?.RequestUri))
            {
                throw Client.Internal.StreamingResponse.RedirectedAway(response.RequestMessage!.RequestUri!, response);
            }

            if (!response.IsSuccessStatusCode)
            {
                byte[] error = await Client.Internal.StreamingResponse.ReadBoundedAsync(response.Content, Client.Internal.StreamingResponse.MaxErrorBodyBytes, linked.Token).ConfigureAwait(false);
                throw Client.Internal.StreamingResponse.ErrorFromBody(response, error, requestId);
            }

            prefetch = await FirstContentPrefetch.ReadAsync(response, _options.MaxEventSize, linked.Token).ConfigureAwait(false);
            if (!prefetch.Committed)
            {
                throw new OpenAIStreamProtocolException("The stream broke and its recovery ended before any content.", prefetch.Events.Count, isRetryable: true, statusCode: (int)response.StatusCode, requestId: requestId);
            }

            CallBodyStream remainder = CallBodyStream.Remainder(call, response, prefetch.Source, prefetch.Buffer, prefetch.CommittedLength, prefetch.Length, requestId, _options);
            var recovered = new ReplayedBody(response, prefetch.Events, remainder, requestId);
            response = null;
            prefetch = null;
            return recovered;
        }
        catch (Exception ex) when (ex is not OpenAIStreamException && linked.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The caller's cancellation stays theirs, the total timeout is named; else the first-token timer fired.
            throw call.Interruption(ex, requestId: null) ?? call.Timeout(OpenAIStreamTimeoutKind.FirstToken, call.Settings.FirstTokenTimeout, requestId: null, ex);
        }
        finally
        {
            prefetch?.Source.Dispose();
            response?.Dispose();
        }
    }

    /// <summary>Whether <paramref name="target"/> continues an assistant prefill: its fallback says so, or the options do for the request's own target.</summary>
    private bool AcceptsPrefill(Fallback.Internal.Target target) =>
        target.Fallback?.AcceptsAssistantPrefill ?? _options.Recovery.ContinueWithAssistantPrefill;

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsState)
        {
            _state.Dispose();
        }

        base.Dispose(disposing);
    }

    private static bool IsEventStream(HttpResponseMessage response) => Client.Internal.StreamingResponse.IsEventStream(response.Content);

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

        string id = NewClientRequestId();
        request.Headers.Remove(ClientRequestIdHeader);
        request.Headers.TryAddWithoutValidation(ClientRequestIdHeader, id);
        return id;
    }

    /// <summary>
    /// A random version-4 UUID that names the call in logs on both sides. It correlates, it protects nothing, so it comes
    /// from <see cref="Random.Shared"/>: <see cref="Guid.NewGuid"/> asks the kernel for random bytes on every call.
    /// </summary>
    private static string NewClientRequestId()
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 (the high nibble of the third field, stored little-endian)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // the RFC 9562 variant
        return new Guid(bytes).ToString();
    }

    /// <summary>
    /// Whether the primary handler under this one opens another HTTP/2 connection when one is full
    /// (<see cref="SocketsHttpHandler.EnableMultipleHttp2Connections"/>, as <see cref="CreatePrimaryHandler"/> sets): only then
    /// is HTTP/2 asked for, since over a single connection streams past the server's concurrent-stream limit would wait for
    /// a slot inside the client while their timers run.
    /// </summary>
    private bool PrimaryOpensHttp2Connections()
    {
        if (_primaryOpensHttp2Connections is { } known)
        {
            return known;
        }

        HttpMessageHandler? handler = InnerHandler;
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler;
        }

        bool opens = handler is SocketsHttpHandler { EnableMultipleHttp2Connections: true };
        _primaryOpensHttp2Connections = opens;
        return opens;
    }

    /// <summary>
    /// Over TLS, asks for HTTP/2 when the request left the version at its default (HTTP/1.1, or lower allowed): the server
    /// picks by ALPN, so a server without HTTP/2 is still reached over HTTP/1.1, and one with it carries many streams on few
    /// connections.
    /// </summary>
    private static void PreferHttp2(HttpRequestMessage request)
    {
        if (request.RequestUri is { IsAbsoluteUri: true, Scheme: "https" }
            && request.Version == HttpVersion.Version11
            && request.VersionPolicy == HttpVersionPolicy.RequestVersionOrLower)
        {
            request.Version = HttpVersion.Version20;
        }
    }

    /// <summary>The handler's recoveries of a call's broken stream (one per handler: what a call needs, it keeps itself).</summary>
    private sealed class StreamRecovery(OpenAIStreamingHandler handler) : IStreamRecovery
    {
        public ValueTask<ReplayedBody> ReplayAsync(CallContext call, string? delivered, CancellationToken cancellationToken) =>
            handler.ReplayAsync(call, delivered, cancellationToken);

        public ValueTask<ReplayedBody> ResumeAsync(CallContext call, string responseId, long after, CancellationToken cancellationToken) =>
            handler.ResumeAsync(call, responseId, after, cancellationToken);
    }
}
