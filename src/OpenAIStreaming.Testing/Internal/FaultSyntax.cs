using System.Globalization;
using System.Text;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>Parses and writes the fault syntax of the <c>x-fake-fault</c> header and <c>fault:</c> model names (documented on <see cref="FaultRule"/>).</summary>
internal static class FaultSyntax
{
    private static readonly (string Token, FaultKind Kind)[] Kinds =
    [
        ("status", FaultKind.Status), ("reset", FaultKind.ResetBeforeHeaders), ("hang", FaultKind.NeverAnswer),
        ("slow-first-token", FaultKind.SlowFirstToken), ("cut", FaultKind.CutAfterEvents), ("stall", FaultKind.StallAfterEvents),
        ("error", FaultKind.MidStreamError), ("malformed", FaultKind.MalformedJson), ("no-done", FaultKind.MissingDone),
        ("bytewise", FaultKind.ByteByByte), ("split-utf8", FaultKind.SplitMultiByteCharacters), ("crlf", FaultKind.CrlfLineEndings),
        ("cr", FaultKind.CrLineEndings), ("keepalive", FaultKind.KeepAliveComments), ("azure-filter", FaultKind.AzureContentFilter),
        ("outage", FaultKind.Outage), ("reject-prefill", FaultKind.RejectAssistantPrefill), ("slow-read", FaultKind.SlowRequestRead),
        ("diverge", FaultKind.DivergeAfterToken), ("replay", FaultKind.ReplayBody), ("redirect", FaultKind.Redirect),
        ("endless", FaultKind.EndlessEvents), ("endless-line", FaultKind.EndlessLine), ("whitespace", FaultKind.WhitespaceBody),
        ("gzip", FaultKind.GzipBody), ("bad-chunk", FaultKind.MalformedChunk), ("reset-after", FaultKind.ResetAfterEvents),
    ];

    private static readonly int[] RedirectStatuses = [301, 302, 303, 307, 308];

    public static IReadOnlyList<FaultRule> Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var rules = new List<FaultRule>();
        foreach (string part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            rules.Add(ParseOne(part));
        }

        return rules;
    }

    public static bool IsRedirectStatus(int statusCode) => Array.IndexOf(RedirectStatuses, statusCode) >= 0;

    public static string Format(Fault fault)
    {
        var text = new StringBuilder(Token(fault.Kind));
        switch (fault.Kind)
        {
            case FaultKind.Status:
                text.Append(CultureInfo.InvariantCulture, $"={fault.StatusCode}");
                break;
            case FaultKind.SlowFirstToken or FaultKind.Outage:
                text.Append('=').Append(FormatDuration(fault.Duration));
                break;
            case FaultKind.CutAfterEvents or FaultKind.MidStreamError or FaultKind.MalformedJson or FaultKind.DivergeAfterToken
                or FaultKind.EndlessEvents or FaultKind.EndlessLine or FaultKind.MalformedChunk or FaultKind.ResetAfterEvents:
                text.Append(CultureInfo.InvariantCulture, $"={fault.Events}");
                break;
            case FaultKind.StallAfterEvents:
                text.Append(CultureInfo.InvariantCulture, $"={fault.Events};for={FormatDuration(fault.Duration)}");
                break;
            case FaultKind.ByteByByte or FaultKind.SplitMultiByteCharacters when fault.Duration > TimeSpan.Zero:
                text.Append(";pause=").Append(FormatDuration(fault.Duration));
                break;
            case FaultKind.SlowRequestRead:
                text.Append(CultureInfo.InvariantCulture, $";chunk={fault.ChunkSize};pause={FormatDuration(fault.Duration)}");
                break;
            case FaultKind.KeepAliveComments when fault.Events > 1:
                text.Append(CultureInfo.InvariantCulture, $";every={fault.Events}");
                break;
            case FaultKind.ReplayBody:
                text.Append(CultureInfo.InvariantCulture, $";bytes={fault.Body.Length}");
                break;
            case FaultKind.Redirect:
                if (fault.StatusCode != 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"={fault.StatusCode}");
                }

                text.Append(";to=").Append(fault.Location);
                break;
            case FaultKind.GzipBody when fault.CorruptAfterEvents is { } corrupt:
                text.Append(CultureInfo.InvariantCulture, $";corrupt={corrupt}");
                break;
            default:
                break;
        }

        if (fault.Kind == FaultKind.MidStreamError && fault.ErrorShape != MidStreamErrorShape.Nested)
        {
            text.Append(";shape=").Append(fault.ErrorShape == MidStreamErrorShape.Flat ? "flat" : "failed");
        }

        AppendCommon(text, fault);
        return text.ToString();
    }

    public static TimeSpan ParseDuration(string text)
    {
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1d),
            _ when text.EndsWith('s') => (text[..^1], 1000d),
            _ when text.EndsWith('m') => (text[..^1], 60_000d),
            _ => (text, 1000d),
        };
        return double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
            ? TimeSpan.FromMilliseconds(value * scale)
            : throw new FormatException($"'{text}' is not a duration (e.g. 250ms, 2s, 1m).");
    }

    public static string FormatDuration(TimeSpan duration) =>
        duration.Ticks % TimeSpan.TicksPerSecond == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)duration.TotalSeconds}s")
            : string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds}ms");

    private static void AppendCommon(StringBuilder text, Fault fault)
    {
        if (fault.ErrorCode is not null)
        {
            text.Append(";code=").Append(fault.ErrorCode);
        }

        if (fault.RetryAfter is { } retryAfter)
        {
            text.Append(CultureInfo.InvariantCulture, $";retry_after={retryAfter.TotalSeconds}");
        }

        if (fault.RetryAfterMs is { } retryAfterMs)
        {
            text.Append(CultureInfo.InvariantCulture, $";retry_after_ms={retryAfterMs.TotalMilliseconds}");
        }

        if (fault.RetryAfterAsDate)
        {
            text.Append(";retry_after_date");
        }

        if (fault.ShouldRetry is { } shouldRetry)
        {
            text.Append(";should_retry=").Append(shouldRetry ? "true" : "false");
        }
    }

    private static string Token(FaultKind kind) => Array.Find(Kinds, k => k.Kind == kind).Token;

    private static FaultRule ParseOne(string text)
    {
        string[] items = text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        (string head, string? headValue) = SplitItem(items[0]);
        int kindIndex = Array.FindIndex(Kinds, k => string.Equals(k.Token, head, StringComparison.OrdinalIgnoreCase));
        if (kindIndex < 0)
        {
            throw new FormatException($"Unknown fault '{head}' in '{text}'.");
        }

        if (Kinds[kindIndex].Kind == FaultKind.ReplayBody)
        {
            throw new FormatException("'replay' needs the bytes to replay: use Fault.ReplayBody in a FaultRule.");
        }

        var fault = WithHeadValue(new Fault(Kinds[kindIndex].Kind), headValue, text);
        var attempts = AttemptSet.All;
        foreach (string item in items.AsSpan(1))
        {
            (string key, string? value) = SplitItem(item);
            if (string.Equals(key, "attempts", StringComparison.OrdinalIgnoreCase))
            {
                attempts = AttemptSet.Parse(Require(value, key));
            }
            else
            {
                fault = WithOption(fault, key.ToLowerInvariant(), value);
            }
        }

        return new FaultRule(Validate(fault, text)) { Attempts = attempts };
    }

    private static Fault Validate(Fault fault, string text)
    {
        if (fault.Kind == FaultKind.Redirect)
        {
            if (fault.StatusCode != 0 && !IsRedirectStatus(fault.StatusCode))
            {
                throw new FormatException($"'{text}': a redirect status is 301, 302, 303, 307 or 308.");
            }

            if (string.IsNullOrEmpty(fault.Location))
            {
                throw new FormatException($"'{text}' needs the target: redirect=307;to=URL.");
            }
        }

        return fault;
    }

    private static Fault WithHeadValue(Fault fault, string? value, string text)
    {
        bool needsValue = fault.Kind is FaultKind.Status or FaultKind.SlowFirstToken or FaultKind.CutAfterEvents or FaultKind.StallAfterEvents
            or FaultKind.MidStreamError or FaultKind.MalformedJson or FaultKind.Outage or FaultKind.DivergeAfterToken
            or FaultKind.EndlessEvents or FaultKind.EndlessLine or FaultKind.MalformedChunk or FaultKind.ResetAfterEvents;
        if (value is null)
        {
            return needsValue ? throw new FormatException($"'{text}' needs a value after '='.") : fault;
        }

        return fault.Kind switch
        {
            FaultKind.Status or FaultKind.Redirect => fault with { StatusCode = ParseInt(value) },
            FaultKind.SlowFirstToken or FaultKind.Outage => fault with { Duration = ParseDuration(value) },
            FaultKind.CutAfterEvents or FaultKind.StallAfterEvents or FaultKind.MidStreamError or FaultKind.MalformedJson or FaultKind.DivergeAfterToken
                or FaultKind.EndlessEvents or FaultKind.EndlessLine or FaultKind.MalformedChunk or FaultKind.ResetAfterEvents
                => fault with { Events = ParseInt(value) },
            _ => throw new FormatException($"'{text}' takes no value."),
        };
    }

    private static Fault WithOption(Fault fault, string key, string? value) => key switch
    {
        "code" => fault with { ErrorCode = Require(value, key) },
        "retry_after" => fault with { RetryAfter = TimeSpan.FromSeconds(ParseDouble(Require(value, key))) },
        "retry_after_ms" => fault with { RetryAfterMs = TimeSpan.FromMilliseconds(ParseDouble(Require(value, key))) },
        "retry_after_date" => fault with { RetryAfterAsDate = true },
        "should_retry" => fault with { ShouldRetry = bool.Parse(Require(value, key)) },
        "for" or "pause" => fault with { Duration = ParseDuration(Require(value, key)) },
        "every" => fault with { Events = ParseInt(Require(value, key)) },
        "chunk" => fault with { ChunkSize = ParseInt(Require(value, key)) },
        "text" => fault with { Text = value ?? string.Empty },
        "shape" => fault with { ErrorShape = ParseShape(Require(value, key)) },
        "to" => fault with { Location = Require(value, key) },
        "corrupt" => fault with { CorruptAfterEvents = ParseInt(Require(value, key)) },
        _ => throw new FormatException($"Unknown fault option '{key}'."),
    };

    private static MidStreamErrorShape ParseShape(string value) => value.ToLowerInvariant() switch
    {
        "nested" => MidStreamErrorShape.Nested,
        "flat" => MidStreamErrorShape.Flat,
        "failed" => MidStreamErrorShape.ResponseFailed,
        _ => throw new FormatException($"Unknown error shape '{value}' (nested, flat, failed)."),
    };

    private static (string Key, string? Value) SplitItem(string item)
    {
        int eq = item.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? (item, null) : (item[..eq].Trim(), item[(eq + 1)..]);
    }

    private static string Require(string? value, string key) =>
        value ?? throw new FormatException($"Fault option '{key}' needs a value.");

    private static int ParseInt(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new FormatException($"'{value}' is not a whole number.");

    private static double ParseDouble(string value) =>
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n)
            ? n
            : throw new FormatException($"'{value}' is not a number.");
}
