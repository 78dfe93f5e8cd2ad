using Microsoft.Extensions.Logging.Abstractions;
using OpenAIStreaming.Handler.Internal;
using OpenAIStreaming.Tests.Handler.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.Handler;

/// <summary>The state kept per endpoint is bounded: a maximum count, least recently used first out, and an idle expiry.</summary>
public sealed class HandlerSharedStateTests
{
    [Fact]
    public void BreakerFor_MoreEndpointsThanTheBound_KeepsAtMostTheBoundAndTheMostRecent()
    {
        var clock = new ManualTimeProvider();
        using var state = new HandlerSharedState(new OpenAIStreamingOptions(), clock, NullLogger.Instance, meterFactory: null);

        for (int i = 0; i < HandlerSharedState.MaxTrackedEndpoints + 100; i++)
        {
            state.BreakerFor(new Uri($"https://host{i}.test/v1/chat/completions"));
        }

        state.TrackedEndpoints.Should().Be(HandlerSharedState.MaxTrackedEndpoints);
    }

    [Fact]
    public void BreakerFor_EndpointsUnusedForLongerThanTheExpiry_AreForgotten()
    {
        var clock = new ManualTimeProvider();
        var options = new OpenAIStreamingOptions();
        using var state = new HandlerSharedState(options, clock, NullLogger.Instance, meterFactory: null);
        for (int i = 0; i < 50; i++)
        {
            state.BreakerFor(new Uri($"https://host{i}.test/"));
        }

        clock.Advance(HandlerSharedState.IdleExpiry(options.CircuitBreaker) + TimeSpan.FromSeconds(1));
        state.BreakerFor(new Uri("https://fresh.test/"));

        state.TrackedEndpoints.Should().Be(1);
        HandlerSharedState.IdleExpiry(options.CircuitBreaker).Should().Be(TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Send_ThroughTheHandlerToManyEndpoints_TheStateStaysBounded()
    {
        using var h = new HandlerHarness(new OpenAIStreamingOptions { MaxRetryAttempts = 0 });
        for (int i = 0; i < HandlerSharedState.MaxTrackedEndpoints + 50; i++)
        {
            h.Stub.ThenStatus(503);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"https://host{i}.test/v1/chat/completions"))
            {
                Content = new StringContent("""{"model":"m","stream":true}"""),
            };
            using HttpResponseMessage response = await h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(HangGuard.Limit);
        }

        h.Handler.SharedState.TrackedEndpoints.Should().BeLessThanOrEqualTo(HandlerSharedState.MaxTrackedEndpoints);
    }
}
