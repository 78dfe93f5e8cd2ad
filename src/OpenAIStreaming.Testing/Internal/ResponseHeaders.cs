using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>The response headers api.openai.com sends, with Go-style durations for rate-limit resets.</summary>
internal static class ResponseHeaders
{
    public static string NewRequestId() => "req_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static void ApplyCommon(HttpResponse response, string requestId, TimeSpan processing)
    {
        response.Headers["x-request-id"] = requestId;
        response.Headers["openai-processing-ms"] = ((long)processing.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        response.Headers["openai-version"] = FakeDefaults.OpenAIVersion;
        response.Headers["openai-organization"] = "org-fake";
        response.Headers["access-control-expose-headers"] = "X-Request-ID";
        response.Headers["x-content-type-options"] = "nosniff";
    }

    public static void ApplyRateLimits(HttpResponse response, long remainingRequests, long remainingTokens, TimeSpan resetRequests, TimeSpan resetTokens)
    {
        response.Headers["x-ratelimit-limit-requests"] = FakeDefaults.RequestLimit.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-limit-tokens"] = FakeDefaults.TokenLimit.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-remaining-requests"] = remainingRequests.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-remaining-tokens"] = remainingTokens.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-ratelimit-reset-requests"] = GoDuration(resetRequests);
        response.Headers["x-ratelimit-reset-tokens"] = GoDuration(resetTokens);
    }

    /// <summary>Formats like Go's <c>time.Duration.String</c> at millisecond precision: <c>0s</c>, <c>6ms</c>, <c>1.5s</c>, <c>11m32.334s</c>, <c>1h0m0s</c>.</summary>
    public static string GoDuration(TimeSpan duration)
    {
        long ms = (long)Math.Round(duration.TotalMilliseconds);
        if (ms <= 0)
        {
            return "0s";
        }

        if (ms < 1000)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{ms}ms");
        }

        long hours = ms / 3_600_000;
        long minutes = ms / 60_000 % 60;
        long seconds = ms / 1000 % 60;
        long fraction = ms % 1000;
        var text = new StringBuilder();
        if (hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{minutes}m");
        }

        text.Append(CultureInfo.InvariantCulture, $"{seconds}");
        if (fraction > 0)
        {
            text.Append('.').Append(fraction.ToString("000", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        return text.Append('s').ToString();
    }
}
