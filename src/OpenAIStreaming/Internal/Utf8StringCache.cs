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
    private const int InitialSlots = 4; // most streams repeat a handful of values: the slots grow only when they are used
    private readonly int _capacity;
    private readonly bool _strict;
    private byte[]?[] _keys = [];
    private string?[] _values = [];
    private int _count;
    private int _next;

    public Utf8StringCache(int capacity, bool strict = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _strict = strict;
    }

    public string Get(ReadOnlySpan<byte> utf8)
    {
        byte[]?[] keys = _keys;
        for (int i = 0; i < _count; i++)
        {
            if (utf8.SequenceEqual(keys[i]))
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
            Add(utf8.ToArray(), value);
        }

        return value;
    }

    private void Add(byte[] key, string value)
    {
        if (_count < _capacity)
        {
            if (_count == _keys.Length)
            {
                int size = Math.Min(_capacity, Math.Max(InitialSlots, _keys.Length * 2));
                Array.Resize(ref _keys, size);
                Array.Resize(ref _values, size);
            }

            _keys[_count] = key;
            _values[_count] = value;
            _count++;
            return;
        }

        int slot = _next; // full: the oldest slot is reused
        _next = (slot + 1) % _capacity;
        _keys[slot] = key;
        _values[slot] = value;
    }
}
