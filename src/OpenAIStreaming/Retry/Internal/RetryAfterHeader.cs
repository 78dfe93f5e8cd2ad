using System.Globalization;
using System.Net.Http.Headers;

namespace OpenAIStreaming.Retry.Internal;

/// <summary>
/// Reads how long the server asked the client to wait, in the official SDKs' order: <c>retry-after-ms</c> (float
/// milliseconds), then <c>Retry-After</c> as (float) seconds, then <c>Retry-After</c> as an HTTP date relative to now.
/// </summary>
internal static class RetryAfterHeader
{
    public static TimeSpan? Read(HttpResponseMessage response, DateTimeOffset now)
    {
        if (response.Headers.NonValidated.TryGetValues("retry-after-ms", out HeaderStringValues milliseconds))
        {
            foreach (string value in milliseconds)
            {
                if (TryParseNumber(value, out double ms))
                {
                    return Clamp(ms / 1000.0);
                }
            }
        }

        if (response.Headers.NonValidated.TryGetValues("Retry-After", out HeaderStringValues retryAfter))
        {
            foreach (string value in retryAfter)
            {
                if (TryParseNumber(value, out double seconds))
                {
                    return Clamp(seconds);
                }

                if (DateTimeOffset.TryParseExact(value.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset date)
                    || DateTimeOffset.TryParse(value.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date))
                {
                    TimeSpan wait = date - now;
                    return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
                }
            }
        }

        return null;
    }

    private static bool TryParseNumber(string value, out double number) =>
        double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number) && number >= 0;

    private static TimeSpan Clamp(double seconds) =>
        seconds >= TimeSpan.MaxValue.TotalSeconds ? TimeSpan.MaxValue : TimeSpan.FromSeconds(seconds);
}
