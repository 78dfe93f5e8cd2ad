using OpenAIStreaming.Testing;
using OpenAIStreaming.Tests.EndToEnd.Support;
using OpenAIStreaming.Tests.Support;

namespace OpenAIStreaming.Tests.EndToEnd;

/// <summary>The handler over real sockets: the fake OpenAI server on Kestrel, time driven by a manual clock.</summary>
public sealed class HandlerEndToEndTests
{
    [Theory]
    [InlineData(StreamingClientKind.TypedReader)]
    [InlineData(StreamingClientKind.OfficialSdk)]
    public async Task Stream_500OnFirstAttempt_RetriesTheSameBodyAndTheAnswerIsComplete(StreamingClientKind kind)
    {
        await using EndToEndHarness h = await EndToEndHarness.StartAsync(new OpenAIStreamingOptions { RetryBaseDelay = TimeSpan.Zero });
        h.Server.AddRule(new FaultRule(Fault.Status(500)) { Attempts = AttemptSet.Only(1) });

        (await h.StreamTextAsync(kind).WaitAsync(ManualTimeProvider.SafetyTimeout)).Should().Be(h.ExpectedText);

        h.Server.Requests.Select(r => r.Attempt).Should().Equal(1, 2);
        h.Server.Requests.Select(r => r.BodySha256).Distinct().Should().ContainSingle("the same body is re-sent");
        h.Server.Requests.Select(r => r.LogicalRequestId).Distinct().Should().ContainSingle("every attempt carries the same client request id");
        h.ShouldHaveDisposedEveryResponse(2);
    }
}
