using Microsoft.Extensions.Logging.Abstractions;
using OpenAIStreaming.Handler.Internal;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.CircuitBreaker;

/// <summary>The health kept per route is bounded: a maximum count, least recently used first out, and an idle expiry.</summary>
public sealed class RouteHealthRegistryTests
{
    [Fact]
    public void HealthOf_MoreRoutesThanTheBound_KeepsAtMostTheBoundAndTheMostRecent()
    {
        var clock = new ManualTimeProvider();
        using var state = new HandlerSharedState(new OpenAIStreamingOptions(), clock, NullLogger.Instance, meterFactory: null);

        for (int i = 0; i < HandlerSharedState.MaxTrackedRoutes + 100; i++)
        {
            state.HealthOf($"https://host{i}.test gpt-4o");
        }

        state.TrackedRoutes.Should().Be(HandlerSharedState.MaxTrackedRoutes);
    }

    [Fact]
    public void HealthOf_RoutesUnusedForLongerThanTheExpiry_AreForgotten()
    {
        var clock = new ManualTimeProvider();
        var options = new OpenAIStreamingOptions();
        using var state = new HandlerSharedState(options, clock, NullLogger.Instance, meterFactory: null);
        for (int i = 0; i < 50; i++)
        {
            state.HealthOf($"https://host{i}.test m");
        }

        clock.Advance(HandlerSharedState.IdleExpiry(options.CircuitBreaker) + TimeSpan.FromSeconds(1));
        state.HealthOf("https://fresh.test m");

        state.TrackedRoutes.Should().Be(1);
        HandlerSharedState.IdleExpiry(options.CircuitBreaker).Should().Be(TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Send_ThroughTheHandlerToManyRoutes_TheStateStaysBounded()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { MaxRetryAttempts = 0 });
        for (int i = 0; i < HandlerSharedState.MaxTrackedRoutes + 50; i++)
        {
            h.Stub.ThenStatus(503);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"https://host{i}.test/v1/chat/completions"))
            {
                Content = new StringContent("""{"model":"m","stream":true}"""),
            };
            using HttpResponseMessage response = await h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(HangGuard.Limit);
        }

        h.Handler.SharedState.TrackedRoutes.Should().BeLessThanOrEqualTo(HandlerSharedState.MaxTrackedRoutes);
    }
}
