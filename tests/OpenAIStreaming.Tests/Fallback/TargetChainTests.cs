using System.Text;
using OpenAIStreaming.Fallback.Internal;

namespace OpenAIStreaming.Tests.Fallback;

/// <summary>How a fallback rewrites the request: the body's model and the address.</summary>
public sealed class TargetChainTests
{
    [Theory]
    [InlineData("""{"model":"gpt-4o","stream":true}""", """{"model":"gpt-4o-mini","stream":true}""")]
    [InlineData("""{ "stream": true, "model" : "gpt-4o" , "n": 1 }""", """{ "stream": true, "model" : "gpt-4o-mini" , "n": 1 }""")]
    [InlineData("""{"messages":[{"model":"inner"}],"model":"x"}""", """{"messages":[{"model":"inner"}],"model":"gpt-4o-mini"}""")]
    [InlineData("""{"stream":true}""", """{"model":"gpt-4o-mini","stream":true}""")]
    [InlineData("""{ }""", """{"model":"gpt-4o-mini" }""")]
    [InlineData("""{"model":null}""", """{"model":"gpt-4o-mini"}""")]
    public void WithModel_ReplacesOnlyTheTopLevelModel(string body, string expected)
    {
        byte[]? rewritten = JsonModelRewriter.WithModel(Encoding.UTF8.GetBytes(body), "gpt-4o-mini");

        Encoding.UTF8.GetString(rewritten!).Should().Be(expected);
    }

    [Fact]
    public void WithModel_EscapesTheModelName()
    {
        byte[]? rewritten = JsonModelRewriter.WithModel("""{"model":"a"}"""u8, "we\"ird/é");

        System.Text.Json.JsonDocument.Parse(rewritten!).RootElement.GetProperty("model").GetString().Should().Be("we\"ird/é");
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("not json")]
    [InlineData("""{"model":"a" """)]
    public void WithModel_NotAJsonObject_ReturnsNull(string body) =>
        JsonModelRewriter.WithModel(Encoding.UTF8.GetBytes(body), "m").Should().BeNull();

    [Theory]
    [InlineData("https://api.openai.com/v1/chat/completions", "https://backup.test/v1/", "https://backup.test/v1/chat/completions")]
    [InlineData("https://api.openai.com/v1/responses/resp_1?stream=true", "http://127.0.0.1:5000/v1", "http://127.0.0.1:5000/v1/responses/resp_1?stream=true")]
    [InlineData("https://x.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21", "https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions")]
    [InlineData("https://x.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21&code=c&sas=s&sig=g", "https://y.openai.azure.com/openai/deployments/big/?api-version=2025-01-01", "https://y.openai.azure.com/openai/deployments/big/chat/completions?api-version=2025-01-01")]
    [InlineData("https://api.openai.com/v1/chat/completions", "https://y.openai.azure.com/openai/deployments/big/?api-version=2024-10-21", "https://y.openai.azure.com/openai/deployments/big/chat/completions?api-version=2024-10-21")]
    [InlineData("http://localhost:11434/api/chat", "http://other:11434/", "http://other:11434/api/chat")]
    [InlineData("https://a.test/v1/responses/r?key=secret&stream=true&x-goog-api-key=s&starting_after=3", "https://b.test/v1/", "https://b.test/v1/responses/r?stream=true&starting_after=3")]
    [InlineData("https://a.test/v1/chat/completions?key=secret", "https://a.test/v2/", "https://a.test/v2/chat/completions?key=secret")]
    public void Rebase_MovesTheOperationPathUnderTheFallbackEndpointAndCarriesOnlyOperationParametersToAnotherOrigin(string original, string endpoint, string expected) =>
        TargetChain.Rebase(new Uri(original), new Uri(endpoint)).Should().Be(new Uri(expected));

    [Theory]
    [InlineData("https://api.openai.com/v1/responses", "resp_1", 9, "https://api.openai.com/v1/responses/resp_1?stream=true&starting_after=9")]
    [InlineData("https://x.openai.azure.com/openai/v1/responses/?api-version=preview", "resp_2", 0, "https://x.openai.azure.com/openai/v1/responses/resp_2?api-version=preview&stream=true&starting_after=0")]
    [InlineData("http://127.0.0.1:5000/v1/responses", "../../admin?x=1", 3, "http://127.0.0.1:5000/v1/responses/..%2F..%2Fadmin%3Fx%3D1?stream=true&starting_after=3")]
    public void ResumeUri_NamesTheStoredResponseUnderTheOperationAndKeepsItsQuery(string operation, string id, long after, string expected) =>
        TargetChain.ResumeUri(new Uri(operation), id, after).AbsoluteUri.Should().Be(expected);

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    public void ResumeUri_AnIdAPathWouldTakeAsAStep_IsRefused(string id) =>
        FluentActions.Invoking(() => TargetChain.ResumeUri(new Uri("https://api.openai.com/v1/responses"), id, 1)).Should().Throw<ArgumentException>();
}
