namespace OpenAIStreaming.Internal;

/// <summary>
/// State kept per key (a route's health, for example) that cannot grow without bound: at most <c>capacity</c> entries, the
/// least recently used one forgotten first, and an entry unused for <c>idleExpiry</c> forgotten too. A forgotten key starts
/// afresh when it is used again. Thread-safe; every operation is O(1) under one short lock.
/// </summary>
/// <typeparam name="TValue">The state kept per key.</typeparam>
internal sealed class BoundedStateRegistry<TValue>
    where TValue : class
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries;
    private readonly LinkedList<Entry> _byUse = new(); // most recently used first
    private readonly int _capacity;
    private readonly TimeSpan _idleExpiry;
    private readonly TimeProvider _timeProvider;

    public BoundedStateRegistry(int capacity, TimeSpan idleExpiry, TimeProvider timeProvider, IEqualityComparer<string>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _idleExpiry = idleExpiry;
        _timeProvider = timeProvider;
        _entries = new Dictionary<string, LinkedListNode<Entry>>(comparer ?? StringComparer.Ordinal);
    }

    /// <summary>Gets the number of keys held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The state of <paramref name="key"/>, created with <paramref name="create"/> when the key is new (or was forgotten).</summary>
    public TValue GetOrAdd<TArg>(string key, Func<string, TArg, TValue> create, TArg argument)
    {
        long now = _timeProvider.GetTimestamp();
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out LinkedListNode<Entry>? node))
            {
                Touch(node, now);
                return node.Value.Value;
            }

            node = _byUse.AddFirst(new Entry(key, create(key, argument)) { LastUsed = now });
            _entries.Add(key, node);
            Evict(now);
            return node.Value.Value;
        }
    }

    /// <summary>The state of <paramref name="key"/> if it is held; looking does not create it.</summary>
    public bool TryGet(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TValue? value)
    {
        long now = _timeProvider.GetTimestamp();
        lock (_lock)
        {
            Evict(now);
            if (_entries.TryGetValue(key, out LinkedListNode<Entry>? node))
            {
                Touch(node, now);
                value = node.Value.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    private void Touch(LinkedListNode<Entry> node, long now)
    {
        node.Value.LastUsed = now;
        if (node != _byUse.First)
        {
            _byUse.Remove(node);
            _byUse.AddFirst(node);
        }
    }

    /// <summary>Forgets the least recently used entries beyond the capacity, and those idle for longer than the expiry.</summary>
    private void Evict(long now)
    {
        while (_byUse.Last is { } oldest
            && (_entries.Count > _capacity || _timeProvider.GetElapsedTime(oldest.Value.LastUsed, now) > _idleExpiry))
        {
            _byUse.RemoveLast();
            _entries.Remove(oldest.Value.Key);
        }
    }

    private sealed class Entry(string key, TValue value)
    {
        public string Key { get; } = key;

        public TValue Value { get; } = value;

        public long LastUsed { get; set; }
    }
}
