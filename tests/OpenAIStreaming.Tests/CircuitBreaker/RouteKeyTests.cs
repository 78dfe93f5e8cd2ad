using OpenAIStreaming.CircuitBreaker.Internal;

namespace OpenAIStreaming.Tests.CircuitBreaker;

/// <summary>A route is an endpoint and a model (or an Azure deployment), named without anything secret.</summary>
public sealed class RouteKeyTests
{
    [Theory]
    [InlineData("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o")]
    [InlineData("https://API.OpenAI.com:443/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o")]
    [InlineData("http://127.0.0.1:8000/v1/chat/completions", "llama", "http://127.0.0.1:8000 llama")]
    [InlineData("https://res.openai.azure.com/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21", null, "https://res.openai.azure.com/openai/deployments/my-gpt")]
    [InlineData("https://res.openai.azure.com/openai/deployments/my-gpt/chat/completions", "ignored", "https://res.openai.azure.com/openai/deployments/my-gpt")]
    [InlineData("https://api.openai.com/v1/chat/completions", null, "https://api.openai.com")]
    public void Of_NamesTheEndpointAndTheModel(string uri, string? model, string expected) =>
        RouteKey.Of(new Uri(uri), model).Should().Be(expected);

    [Fact]
    public void Of_AnAddressWithUserInformation_LeavesItOut()
    {
        string key = RouteKey.Of(new Uri("https://user:s3cret@gateway.example.com/v1/chat/completions"), "gpt-4o");

        key.Should().Be("https://gateway.example.com gpt-4o").And.NotContain("s3cret");
    }

    [Fact]
    public void Of_TwoModelsOnOneEndpoint_AreTwoRoutes() =>
        RouteKey.Of(new Uri("https://api.openai.com/v1/chat/completions"), "gpt-4o")
            .Should().NotBe(RouteKey.Of(new Uri("https://api.openai.com/v1/chat/completions"), "gpt-4o-mini"));

    [Fact]
    public void Of_AddressesAndModelsInTurn_NameEachItsOwnRoute()
    {
        // Calls that go from one route to another and back (the last route is remembered) are each named for their own.
        (string Uri, string? Model, string Expected)[] calls =
        [
            ("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
            ("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
            ("https://api.openai.com/v1/chat/completions", "gpt-4o-mini", "https://api.openai.com gpt-4o-mini"),
            ("https://api.openai.com/v1/chat/completions", null, "https://api.openai.com"),
            ("http://127.0.0.1:8000/v1/chat/completions", "gpt-4o-mini", "http://127.0.0.1:8000 gpt-4o-mini"),
            ("https://res.openai.azure.com/openai/deployments/a/chat/completions", "x", "https://res.openai.azure.com/openai/deployments/a"),
            ("https://res.openai.azure.com/openai/deployments/a/chat/completions", "y", "https://res.openai.azure.com/openai/deployments/a"),
            ("https://res.openai.azure.com/openai/deployments/b/chat/completions", "y", "https://res.openai.azure.com/openai/deployments/b"),
            ("https://user:s3cret@api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
            ("https://api.openai.com/v1/chat/completions", "gpt-4o", "https://api.openai.com gpt-4o"),
        ];

        foreach ((string uri, string? model, string expected) in calls)
        {
            RouteKey.Of(new Uri(uri), model).Should().Be(expected, $"{uri} asks for {model ?? "no model"}");
        }
    }

    [Fact]
    public void Of_AnAddressWithAQuery_IsNotRemembered()
    {
        // A query may hold a key (?api-key=, ?sig=): the remembered routes outlive every client, so such an address is never kept.
        RouteKey.Of(new Uri("https://gateway.example.com/v1/chat/completions?api-key=s3cret"), "gpt-4o").Should().Be("https://gateway.example.com gpt-4o");
        RouteKey.Of(new Uri("https://user:s3cret@gateway.example.com/v1/chat/completions"), "gpt-4o").Should().Be("https://gateway.example.com gpt-4o");

        var recent = (Array)typeof(RouteKey).GetField("s_recent", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        recent.Cast<object?>().Select(entry => entry?.ToString() ?? string.Empty).Should().NotContain(entry => entry.Contains("s3cret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Of_ManyThreadsManyRoutes_NameEachItsOwnRoute()
    {
        string[] models = ["gpt-4o", "gpt-4o-mini", "gpt-4o-mini-2", "gpt-4o-mini-3", "o3", null!];
        string[] addresses = ["https://api.openai.com/v1/chat/completions", "http://127.0.0.1:8000/v1/chat/completions", "https://a.example.com/v1/responses"];
        int wrong = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                string address = addresses[(i + worker) % addresses.Length];
                string? model = models[(i * 7 + worker) % models.Length];
                string expected = new Uri(address).GetLeftPart(UriPartial.Authority).ToLowerInvariant() + (model is null ? string.Empty : " " + model);
                if (RouteKey.Of(new Uri(address), model) != expected)
                {
                    Interlocked.Increment(ref wrong);
                }
            }
        })));

        wrong.Should().Be(0);
    }
}
