using OpenAIStreaming.Testing.Internal;

namespace OpenAIStreaming.Testing;

/// <summary>
/// Applies a <see cref="Fault"/> to the requests it matches, on the attempts it names.
/// Every condition that is set must hold; a rule with no condition matches every request.
/// All matching rules apply together (for example <c>crlf</c> and <c>split-utf8</c>); when several
/// decide the response before it starts (status, reset, hang, outage, redirect, white space), the first one wins.
/// </summary>
/// <remarks>
/// <para>Fault syntax, shared by the <c>x-fake-fault</c> header and <c>fault:</c> model names:
/// faults separated by <c>,</c>; each fault is <c>;</c>-separated <c>key[=value]</c> items whose first key names the kind:</para>
/// <list type="bullet">
/// <item><c>status=429;retry_after=2;retry_after_ms=1500;retry_after_date;should_retry=false;code=insufficient_quota</c></item>
/// <item><c>reset</c>, <c>hang</c>, <c>slow-first-token=2s</c>, <c>cut=3</c>, <c>stall=3;for=30s</c>, <c>error=3;shape=nested|flat|failed</c>,
/// <c>malformed=2</c>, <c>no-done</c>, <c>bytewise;pause=1ms</c>, <c>split-utf8;pause=10ms</c>, <c>crlf</c>, <c>cr</c>,
/// <c>keepalive;every=2;text= ping</c>, <c>azure-filter</c>, <c>outage=30s</c>, <c>reject-prefill</c>, <c>slow-read;chunk=16;pause=100ms</c>, <c>diverge=5</c>,
/// <c>redirect=307;to=http://127.0.0.1:1234/v1/chat/completions</c>, <c>endless=5</c>, <c>endless-line=2</c>, <c>whitespace</c>, <c>gzip;corrupt=3</c>, <c>bad-chunk=4</c>, <c>reset-after=4</c></item>
/// <item>any fault may add <c>attempts=1</c>, <c>attempts=1-3</c> or <c>attempts=2-</c> (default: every attempt).</item>
/// </list>
/// <para>Durations take a unit (<c>ms</c>, <c>s</c>, <c>m</c>); a bare number is seconds.</para>
/// </remarks>
/// <param name="fault">The fault to apply.</param>
public sealed class FaultRule(Fault fault)
{
    /// <summary>Gets the fault applied when the rule matches.</summary>
    public Fault Fault { get; } = fault ?? throw new ArgumentNullException(nameof(fault));

    /// <summary>Gets the model name a request must ask for (ordinal comparison).</summary>
    /// <value>The default is <see langword="null"/>: any model.</value>
    public string? Model { get; init; }

    /// <summary>Gets the request path a request must have, e.g. <c>/v1/chat/completions</c>.</summary>
    /// <value>The default is <see langword="null"/>: any path.</value>
    public string? Path { get; init; }

    /// <summary>Gets the name of a header the request must carry.</summary>
    /// <value>The default is <see langword="null"/>: no header condition.</value>
    public string? HeaderName { get; init; }

    /// <summary>Gets the value <see cref="HeaderName"/> must have (ordinal comparison).</summary>
    /// <value>The default is <see langword="null"/>: any value, as long as the header is present.</value>
    public string? HeaderValue { get; init; }

    /// <summary>Gets a predicate over the request.</summary>
    /// <value>The default is <see langword="null"/>: no predicate.</value>
    public Func<FakeRequest, bool>? When { get; init; }

    /// <summary>Gets the attempts of a logical request the rule applies to.</summary>
    /// <value>The default is <see cref="AttemptSet.All"/>.</value>
    public AttemptSet Attempts { get; init; } = AttemptSet.All;

    /// <summary>Parses the fault syntax described on <see cref="FaultRule"/> into one rule per fault.</summary>
    /// <param name="spec">The text, e.g. <c>status=429;retry_after=2;attempts=1</c>.</param>
    /// <returns>The rules, without conditions other than their attempts.</returns>
    /// <exception cref="FormatException">The text is not valid fault syntax.</exception>
    public static IReadOnlyList<FaultRule> Parse(string spec) => FaultSyntax.Parse(spec);

    /// <summary>Whether the rule applies to <paramref name="request"/>.</summary>
    /// <param name="request">The request.</param>
    /// <returns><see langword="true"/> when every condition holds.</returns>
    public bool Matches(FakeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Attempts.Contains(request.Attempt) && MatchesIgnoringAttempts(request);
    }

    /// <summary>Whether every condition but <see cref="Attempts"/> holds.</summary>
    internal bool MatchesIgnoringAttempts(FakeRequest request)
    {
        return (Model is null || string.Equals(Model, request.Model, StringComparison.Ordinal))
            && (Path is null || string.Equals(Path, request.Path, StringComparison.Ordinal))
            && MatchesHeader(request)
            && (When is null || When(request));
    }

    /// <summary>Writes the fault and its attempts in the fault syntax.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Attempts == AttemptSet.All ? Fault.ToString() : $"{Fault};attempts={Attempts}";

    private bool MatchesHeader(FakeRequest request)
    {
        if (HeaderName is null)
        {
            return true;
        }

        return request.Headers.TryGetValue(HeaderName, out string? value)
            && (HeaderValue is null || string.Equals(HeaderValue, value, StringComparison.Ordinal));
    }
}
