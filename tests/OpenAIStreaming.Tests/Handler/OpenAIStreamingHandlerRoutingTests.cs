using System.Text;
using OpenAIStreaming.Tests.Handler.Support;
using static OpenAIStreaming.Tests.Handler.Support.HandlerHarness;

namespace OpenAIStreaming.Tests.Handler;

/// <summary>The chain of targets a call may take: fallbacks per model and per request, and the synchronous send.</summary>
public sealed class OpenAIStreamingHandlerRoutingTests
{
    [Fact]
    public async Task Send_ModelWithItsOwnFallbacks_TriesThemBeforeTheFallbacksForEveryRequest()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.ModelFallbacks["gpt-4o"] = [new OpenAIStreamingFallback { Model = "gpt-4o-mini" }];
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "last-resort" });
        using var h = new HandlerHarness(options);
        h.Stub.ThenStatus(500).ThenStatus(503).ThenSse(Healthy);

        (await Within(h.StreamTextAsync())).Should().Be("ok");

        h.Stub.Attempts.Select(a => ModelOf(a.Body)).Should().Equal("gpt-4o", "gpt-4o-mini", "last-resort");
    }

    [Fact]
    public async Task Send_ModelWithoutItsOwnFallbacks_GetsOnlyTheFallbacksForEveryRequest()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.ModelFallbacks["some-other-model"] = [new OpenAIStreamingFallback { Model = "never-used" }];
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "last-resort" });
        using var h = new HandlerHarness(options);
        h.Stub.ThenStatus(500).ThenSse(Healthy);

        (await Within(h.StreamTextAsync())).Should().Be("ok");

        h.Stub.Attempts.Select(a => ModelOf(a.Body)).Should().Equal("gpt-4o", "last-resort");
    }

    [Fact]
    public async Task Send_PerRequestFallbacks_ReplaceTheWholeChain()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.ModelFallbacks["gpt-4o"] = [new OpenAIStreamingFallback { Model = "model-level" }];
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "client-level" });
        using var h = new HandlerHarness(options);
        h.Stub.ThenStatus(500).ThenStatus(500);
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        request.Options.Set(OpenAIStreamingRequestOptions.Fallbacks, [new OpenAIStreamingFallback { Model = "request-level" }]);

        using HttpResponseMessage response = await Within(h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));

        ((int)response.StatusCode).Should().Be(500);
        h.Stub.Attempts.Select(a => ModelOf(a.Body)).Should().Equal("gpt-4o", "request-level");
    }

    [Fact]
    public async Task Send_PerRequestFallbacksEmpty_MeansNoFallback()
    {
        var options = new OpenAIStreamingOptions { MaxRetryAttempts = 0 };
        options.Fallbacks.Add(new OpenAIStreamingFallback { Model = "client-level" });
        using var h = new HandlerHarness(options);
        h.Stub.ThenStatus(500);
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        request.Options.Set(OpenAIStreamingRequestOptions.Fallbacks, []);

        using HttpResponseMessage response = await Within(h.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead));

        h.Stub.Attempts.Should().ContainSingle();
    }

    [Fact]
    public async Task Send_InvalidPerRequestFallback_FailsTheRequestWithArgumentException()
    {
        using var h = new HandlerHarness();
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };
        request.Options.Set(OpenAIStreamingRequestOptions.Fallbacks, [new OpenAIStreamingFallback()]);

        await FluentActions.Awaiting(() => h.Client.SendAsync(request)).Should().ThrowAsync<ArgumentException>().WithMessage("*must name a Model, an Endpoint, or both*");
        h.Stub.Attempts.Should().BeEmpty();
    }

    [Fact]
    public void Send_Synchronous_IsNotSupportedAndNamesTheAsynchronousMethod()
    {
        using var h = new HandlerHarness();
        using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(ChatRequest, Encoding.UTF8, "application/json") };

        FluentActions.Invoking(() => h.Client.Send(request)).Should().Throw<NotSupportedException>().WithMessage("*SendAsync*");
        h.Stub.Attempts.Should().BeEmpty("nothing bypasses the protections");
    }

    private static string? ModelOf(string body) => System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("model").GetString();
}
