namespace OpenAIStreaming.Internal;

/// <summary>
/// Maps short UTF-8 values that repeat across events (ids, model names, event types) to one string instance, so a stream
/// allocates each distinct value once instead of once per event. Bounded: at most <c>capacity</c> entries, then the
/// oldest slot is reused.
/// </summary>
/// <remarks>
/// A strict cache (for JSON string values) rejects invalid UTF-8 with <see cref="InvalidOperationException"/>, as
/// <see cref="System.Text.Json.Utf8JsonReader.GetString"/> does, so every JSON field treats invalid bytes alike. A lenient one
/// (for SSE field values, which the event-stream rules decode with replacement) turns them into U+FFFD.
/// </remarks>
internal sealed class Utf8StringCache
{
    private const int MaxCachedLength = 256;
    private readonly byte[]?[] _keys;
    private readonly string?[] _values;
    private int _next;

    private readonly bool _strict;

    public Utf8StringCache(int capacity, bool strict = true)
    {
        _keys = new byte[capacity][];
        _values = new string[capacity];
        _strict = strict;
    }

    public string Get(ReadOnlySpan<byte> utf8)
    {
        byte[]?[] keys = _keys;
        for (int i = 0; i < keys.Length; i++)
        {
            byte[]? key = keys[i];
            if (key is null)
            {
                break;
            }

            if (utf8.SequenceEqual(key))
            {
                return _values[i]!;
            }
        }

        if (_strict && !System.Text.Unicode.Utf8.IsValid(utf8))
        {
            throw new InvalidOperationException("A JSON string value is not valid UTF-8.");
        }

        string value = System.Text.Encoding.UTF8.GetString(utf8);
        if (utf8.Length <= MaxCachedLength)
        {
            int slot = _next;
            _next = (slot + 1) % keys.Length;
            keys[slot] = utf8.ToArray();
            _values[slot] = value;
        }

        return value;
    }
}
