using System.Text;
using System.Text.Json.Nodes;
using OpenAIStreaming.Client.Internal;

namespace OpenAIStreaming.Tests.Client;

/// <summary>The typed reader's body: <c>"stream": true</c>, the usage asked for unless the body says otherwise, every other property as sent.</summary>
public sealed class StreamingRequestBodyTests
{
    [Theory]
    [InlineData("""{"model":"m","messages":[]}""", """{"model":"m","messages":[],"stream":true}""")]
    [InlineData("""{"model":"m","stream":false,"n":2}""", """{"model":"m","stream":true,"n":2}""")]
    [InlineData("""{"a":"\u00e9\n","b":[1,{"c":null}]}""", """{"a":"\u00e9\n","b":[1,{"c":null}],"stream":true}""")]
    [InlineData("{}", """{"stream":true}""")]
    public void ForceStream_WithUsage_AppendsItAndTheRangeGivesTheBodyAsAsked(string json, string asked)
    {
        byte[] body = StreamingRequestBody.ForceStream(Encoding.UTF8.GetBytes(json), "body", includeUsage: true, out _, out Range usage);

        JsonNode parsed = JsonNode.Parse(body)!;
        JsonNode.DeepEquals(parsed["stream_options"], JsonNode.Parse("""{"include_usage":true}""")).Should().BeTrue(Encoding.UTF8.GetString(body));
        Encoding.UTF8.GetString(body[usage]).Should().Be(""","stream_options":{"include_usage":true}""");
        Encoding.UTF8.GetString(StreamingRequestBody.Without(body, usage)).Should().Be(asked);
        Encoding.UTF8.GetString(StreamingRequestBody.ForceStream(Encoding.UTF8.GetBytes(json), "body")).Should().Be(asked);
    }

    [Theory]
    [InlineData("""{"model":"m","stream_options":{"include_usage":false}}""")]
    [InlineData("""{"stream_options":{},"model":"m"}""")]
    public void ForceStream_BodySetsStreamOptions_IsLeftAsTheCallerWroteIt(string json)
    {
        byte[] body = StreamingRequestBody.ForceStream(Encoding.UTF8.GetBytes(json), "body", includeUsage: true, out _, out Range usage);

        usage.Start.Value.Should().Be(usage.End.Value, "nothing was added");
        JsonNode.DeepEquals(JsonNode.Parse(body)!["stream_options"], JsonNode.Parse(json)!["stream_options"]).Should().BeTrue();
    }

    [Fact]
    public void ForceStream_ManyBodiesOnOneThread_EachIsWrittenWhole()
    {
        // The writer and its buffer are reused: a large body, a failed one and a small one after each other stay apart.
        string large = $$"""{"messages":[{"role":"user","content":"{{new string('x', 100_000)}}"}]}""";
        StreamingRequestBody.ForceStream(Encoding.UTF8.GetBytes(large), "body").Length.Should().Be(large.Length + ",\"stream\":true".Length);
        FluentActions.Invoking(() => StreamingRequestBody.ForceStream("""{"a":"""u8.ToArray(), "body")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => StreamingRequestBody.ForceStream("[1]"u8.ToArray(), "body")).Should().Throw<ArgumentException>();
        Encoding.UTF8.GetString(StreamingRequestBody.ForceStream("""{"a":1}"""u8, "body")).Should().Be("""{"a":1,"stream":true}""");
    }

    [Fact]
    public void ForceStream_JsonResponseFormat_IsNoticed()
    {
        StreamingRequestBody.ForceStream("""{"response_format":{"type":"json_schema","json_schema":{}}}"""u8, "body", includeUsage: false, out bool asksForJson, out _);

        asksForJson.Should().BeTrue();
    }
}
