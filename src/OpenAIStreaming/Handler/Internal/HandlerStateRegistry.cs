using System.Collections.Concurrent;

namespace OpenAIStreaming.Handler.Internal;

/// <summary>
/// One <see cref="HandlerSharedState"/> per named client, registered as a singleton, so the retry budget and the circuit
/// breakers outlive the handler instances <c>IHttpClientFactory</c> rotates. The state is made from the client's options as
/// they are when its first handler is built.
/// </summary>
internal sealed class HandlerStateRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, HandlerSharedState> _states = new(StringComparer.Ordinal);

    public HandlerSharedState GetOrAdd(string name, Func<HandlerSharedState> create) =>
        _states.GetOrAdd(name, static (_, create) => create(), create);

    /// <summary>Disposes the states (their meters, when no <c>IMeterFactory</c> made them) with the service provider.</summary>
    public void Dispose()
    {
        foreach (HandlerSharedState state in _states.Values)
        {
            state.Dispose();
        }
    }
}
