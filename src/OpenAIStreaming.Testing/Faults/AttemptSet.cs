using System.Globalization;

namespace OpenAIStreaming.Testing;

/// <summary>
/// The attempts of a logical request a <see cref="FaultRule"/> applies to: a contiguous, 1-based range.
/// Written <c>attempts=1</c>, <c>attempts=1-3</c> or <c>attempts=2-</c> in the fault syntax.
/// </summary>
public readonly record struct AttemptSet
{
    private AttemptSet(int first, int? last)
    {
        First = first;
        Last = last;
    }

    /// <summary>Gets every attempt.</summary>
    public static AttemptSet All { get; } = new(1, null);

    /// <summary>Gets the first attempt of the range (1-based).</summary>
    public int First { get; }

    /// <summary>Gets the last attempt of the range, or <see langword="null"/> when the range is open.</summary>
    public int? Last { get; }

    /// <summary>Only attempt <paramref name="attempt"/>.</summary>
    /// <param name="attempt">The 1-based attempt number.</param>
    /// <returns>The set.</returns>
    public static AttemptSet Only(int attempt) => Range(attempt, attempt);

    /// <summary>Attempt <paramref name="first"/> and every later one.</summary>
    /// <param name="first">The first 1-based attempt number.</param>
    /// <returns>The set.</returns>
    public static AttemptSet From(int first)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(first, 1);
        return new AttemptSet(first, null);
    }

    /// <summary>Attempts <paramref name="first"/> to <paramref name="last"/>, both included.</summary>
    /// <param name="first">The first 1-based attempt number.</param>
    /// <param name="last">The last 1-based attempt number.</param>
    /// <returns>The set.</returns>
    public static AttemptSet Range(int first, int last)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(first, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(last, first);
        return new AttemptSet(first, last);
    }

    /// <summary>Parses <c>N</c>, <c>N-M</c> or <c>N-</c>.</summary>
    /// <param name="text">The text to parse.</param>
    /// <returns>The set.</returns>
    /// <exception cref="FormatException">The text is not one of the three forms.</exception>
    public static AttemptSet Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return Only(ParseNumber(text));
        }

        int first = ParseNumber(text[..dash]);
        string rest = text[(dash + 1)..];
        return rest.Length == 0 ? From(first) : Range(first, ParseNumber(rest));
    }

    /// <summary>Whether the set holds <paramref name="attempt"/>.</summary>
    /// <param name="attempt">The 1-based attempt number.</param>
    /// <returns><see langword="true"/> when the attempt is in the range.</returns>
    public bool Contains(int attempt) => attempt >= First && (Last is null || attempt <= Last);

    /// <inheritdoc />
    public override string ToString() => Last == First
        ? First.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}");

    private static int ParseNumber(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1
            ? n
            : throw new FormatException($"'{text}' is not an attempt number (1 or more).");
}
