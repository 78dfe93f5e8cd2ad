using System.Net.Http.Headers;
using OpenAIStreaming.Client.Internal;

namespace OpenAIStreaming.Tests.Client;

/// <summary>How a response body's label is read: its media type, before any parameter, whatever the case and spacing.</summary>
public sealed class ContentTypeTests
{
    [Theory]
    [InlineData("application/json", true, false)]
    [InlineData("application/json; charset=utf-8", true, false)]
    [InlineData("Application/JSON;charset=UTF-8", true, false)]
    [InlineData("application/problem+json", true, false)]
    [InlineData("text/event-stream", false, true)]
    [InlineData("text/event-stream; charset=utf-8", false, true)]
    [InlineData(" TEXT/Event-Stream ;charset=utf-8", false, true)]
    [InlineData("text/plain", false, false)]
    [InlineData("application/jsonl", false, false)]
    public void ContentTypeAsItCame_IsReadByItsMediaType(string contentType, bool isJson, bool isEventStream)
    {
        using var content = new ByteArrayContent([]);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType).Should().BeTrue();

        StreamingResponse.IsJson(content).Should().Be(isJson);
        StreamingResponse.IsEventStream(content).Should().Be(isEventStream);
    }

    [Fact]
    public void ContentTypeSetAsAValue_IsReadToo()
    {
        using var content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");

        StreamingResponse.IsJson(content).Should().BeTrue();
        StreamingResponse.MediaTypeOf(content).ToString().Should().Be("application/json");
    }

    [Fact]
    public void NoContentType_IsNeitherJsonNorAnEventStream()
    {
        using var content = new ByteArrayContent([]);

        StreamingResponse.MediaTypeOf(content).IsEmpty.Should().BeTrue();
        StreamingResponse.IsJson(content).Should().BeFalse();
        StreamingResponse.IsEventStream(content).Should().BeFalse();
    }

    [Fact]
    public void ContentTypeThatIsNotValid_IsReadAsItCame()
    {
        // A label the runtime would refuse to parse still names what the server meant: a JSON body is never waited on for events.
        using var content = new ByteArrayContent([]);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=\"utf-8").Should().BeTrue();

        StreamingResponse.IsJson(content).Should().BeTrue();
    }

    [Fact]
    public void ReadingTheLabel_LeavesItUnparsed()
    {
        // Parsing would rewrite a label in its canonical form ("; charset=utf-8") and keep the parsed value for the
        // response's life; reading it leaves the header as it came.
        using var content = new ByteArrayContent([]);
        content.Headers.TryAddWithoutValidation("Content-Type", "text/event-stream;charset=utf-8").Should().BeTrue();

        StreamingResponse.IsEventStream(content).Should().BeTrue();
        StreamingResponse.IsJson(content).Should().BeFalse();

        content.Headers.NonValidated.TryGetValues("Content-Type", out HeaderStringValues values).Should().BeTrue();
        values.ToString().Should().Be("text/event-stream;charset=utf-8");
    }
}
