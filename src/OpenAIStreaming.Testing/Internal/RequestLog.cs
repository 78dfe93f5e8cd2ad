using System.Collections.Concurrent;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>Counts attempts per logical request and keeps the request log; safe to use from every request thread.</summary>
internal sealed class RequestLog
{
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly List<FakeRequestLogEntry> _entries = [];
    private readonly Lock _gate = new();

    public int PeekNextAttempt(string key) => _attempts.TryGetValue(key, out int count) ? count + 1 : 1;

    public int NextAttempt(string key) => _attempts.AddOrUpdate(key, 1, static (_, count) => count + 1);

    public void Add(FakeRequestLogEntry entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
        }
    }

    public FakeRequestLogEntry[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries];
        }
    }
}
