using OpenAIStreaming.Protocol;
using OpenAIStreaming.Protocol.Internal;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>
/// The accumulator holds at most what its options allow: past a bound, <see cref="ChatCompletionAccumulator.Append"/> throws a
/// typed error and adds nothing of the offending update, so what was assembled so far stays intact.
/// </summary>
public sealed class ChatCompletionAccumulatorLimitTests
{
    private static readonly ChatChunkHeader Header = new("chatcmpl-1", "gpt-4o", 1, null, null);

    [Fact]
    public void Append_TextPastMaxCharactersPerChoice_ThrowsAndKeepsWhatCameBefore()
    {
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxCharactersPerChoice = 10 });
        accumulator.Append(Text(0, "12345"));
        accumulator.Append(Text(0, "67890"));

        Action tooMuch = () => accumulator.Append(Text(0, "!"));

        tooMuch.Should().Throw<OpenAIStreamProtocolException>().Which.Message.Should().Contain("MaxCharactersPerChoice");
        accumulator.Build().Choices.Single().Content.Should().Be("1234567890");
    }

    [Fact]
    public void Append_RefusalCountsTowardsTheSameBound()
    {
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxCharactersPerChoice = 4 });
        accumulator.Append(Text(0, "ab"));

        Action tooMuch = () => accumulator.Append(new ChatCompletionUpdate(Header, 0, null, null, "cde", null, null, null));

        tooMuch.Should().Throw<OpenAIStreamProtocolException>();
    }

    [Fact]
    public void Append_MoreChoicesThanMaxChoices_Throws()
    {
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxChoices = 2 });
        accumulator.Append(Text(0, "a"));
        accumulator.Append(Text(5, "b"));
        accumulator.Append(Text(0, "c"));

        Action third = () => accumulator.Append(Text(7, "d"));

        third.Should().Throw<OpenAIStreamProtocolException>().Which.Message.Should().Contain("MaxChoices");
        accumulator.Build().Choices.Select(c => c.Index).Should().Equal(0, 5);
    }

    [Fact]
    public void Append_MoreToolCallsThanMaxToolCallsPerChoice_Throws()
    {
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxToolCallsPerChoice = 2 });
        accumulator.Append(Tool(0, 0, "{"));
        accumulator.Append(Tool(0, 1, "{"));
        accumulator.Append(Tool(0, 1, "}"));

        Action third = () => accumulator.Append(Tool(0, 2, "{"));

        third.Should().Throw<OpenAIStreamProtocolException>().Which.Message.Should().Contain("MaxToolCallsPerChoice");
    }

    [Fact]
    public void Append_ArgumentsPastMaxToolCallArgumentCharacters_Throws()
    {
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxToolCallArgumentCharacters = 6 });
        accumulator.Append(Tool(0, 0, "{\"a\":"));

        Action tooLong = () => accumulator.Append(Tool(0, 0, "12}"));

        tooLong.Should().Throw<OpenAIStreamProtocolException>().Which.Message.Should().Contain("MaxToolCallArgumentCharacters");
        accumulator.Build().Choices.Single().ToolCalls.Single().Arguments.Should().Be("{\"a\":");
    }

    [Fact]
    public void Append_TextArgumentsAndRefusalsOfEveryChoicePastMaxTotalCharacters_ThrowsAndAddsNothing()
    {
        // Each choice and tool call is within its own bound; together they pass the total.
        var accumulator = new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxTotalCharacters = 10 });
        accumulator.Append(Text(0, "1234"));
        accumulator.Append(Tool(1, 0, "{\"a\"}"));

        Action tooMuch = () => accumulator.Append(Text(2, "xy"));

        tooMuch.Should().Throw<OpenAIStreamProtocolException>().Which.Message.Should().Contain("MaxTotalCharacters");
        accumulator.Build().Choices.Select(c => c.Index).Should().Equal([0, 1], "the offending update did not even add its choice");
        accumulator.Append(Text(0, "")); // an update without text still goes through
    }

    [Fact]
    public void Constructor_OptionsAreCopiedAndValidated()
    {
        var options = new ChatCompletionAccumulatorOptions { MaxCharactersPerChoice = 3 };
        var accumulator = new ChatCompletionAccumulator(options);
        options.MaxCharactersPerChoice = 1000;

        FluentActions.Invoking(() => accumulator.Append(Text(0, "abcd"))).Should().Throw<OpenAIStreamProtocolException>();
        FluentActions.Invoking(() => new ChatCompletionAccumulator(new ChatCompletionAccumulatorOptions { MaxChoices = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Defaults_AreFarAboveAnyRealAnswer()
    {
        var options = new ChatCompletionAccumulatorOptions();

        options.MaxCharactersPerChoice.Should().Be(4 * 1024 * 1024);
        options.MaxChoices.Should().Be(128);
        options.MaxToolCallsPerChoice.Should().Be(128);
        options.MaxToolCallArgumentCharacters.Should().Be(4 * 1024 * 1024);
        options.MaxTotalCharacters.Should().Be(16 * 1024 * 1024);
    }

    private static ChatCompletionUpdate Text(int choice, string text) => new(Header, choice, null, text, null, null, null, null);

    private static ChatCompletionUpdate Tool(int choice, int index, string arguments) =>
        new(Header, choice, null, null, null, [new ChatToolCallUpdate(index, null, null, null, arguments)], null, null);
}
