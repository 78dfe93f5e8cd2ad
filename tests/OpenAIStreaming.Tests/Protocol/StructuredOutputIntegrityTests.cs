using OpenAIStreaming.Protocol;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>The incremental JSON check and the code-fence tracker, fed whole and in every split.</summary>
public sealed class StructuredOutputIntegrityTests
{
    public static TheoryData<string> CompleteDocuments =>
    [
        """{"a":1}""",
        """ { "a" : [ 1 , -2.5e+3 , true , false , null , "x\"\\\/\b\f\n\r\t\u00e9" ] , "b" : { } , "c" : [ ] } """,
        "0",
        "-0.0e0",
        "123",
        "\"just a string\"",
        "[[[[]]]]",
        "{\"emoji\":\"😀 and é\"}",
        "true",
    ];

    public static TheoryData<string, int> InvalidDocuments => new()
    {
        { "{\"a\":1,}", 7 },
        { "[1,]", 3 },
        { "{a:1}", 1 },
        { "{\"a\" 1}", 5 },
        { "01", 1 },
        { "-", -1 },
        { "1.", -1 },
        { "1e", -1 },
        { "tru e", 3 },
        { "nul", -1 },
        { "\"a\\x\"", 3 },
        { "\"\\u12g4\"", 5 },
        { "\"a\nb\"", 2 },
        { "{} {}", 3 },
        { "[1 2]", 3 },
        { "{\"a\":1]", 6 },
        { "}", 0 },
    };

    [Theory]
    [MemberData(nameof(CompleteDocuments))]
    public void Validator_ACompleteDocument_IsAValidPrefixAtEveryCharacterAndCompleteAtTheEnd(string json)
    {
        var whole = new JsonStreamValidator();
        for (int i = 0; i < json.Length; i++)
        {
            whole.Append(json.AsSpan(i, 1));
            whole.State.Should().NotBe(JsonTextState.Invalid, "after {0} characters", i + 1);
        }

        whole.State.Should().Be(JsonTextState.Complete);
        whole.Error.Should().BeNull();
        whole.Length.Should().Be(json.Length);
        System.Text.Json.JsonDocument.Parse(json).Dispose(); // the reference parser agrees

        for (int split = 0; split <= json.Length; split++)
        {
            var pieces = new JsonStreamValidator();
            pieces.Append(json.AsSpan(0, split));
            pieces.Append(json.AsSpan(split));
            pieces.State.Should().Be(JsonTextState.Complete, "split at {0}", split);
        }
    }

    [Theory]
    [MemberData(nameof(InvalidDocuments))]
    public void Validator_AnInvalidDocument_IsInvalidFromTheFirstBadCharacterOrIncompleteAtTheEnd(string json, int badAt)
    {
        var validator = new JsonStreamValidator();
        for (int i = 0; i < json.Length; i++)
        {
            validator.Append(json.AsSpan(i, 1));
            bool shouldBeInvalid = badAt >= 0 && i >= badAt;
            (validator.State == JsonTextState.Invalid).Should().Be(shouldBeInvalid, "after {0} characters of {1}", i + 1, json);
        }

        validator.State.Should().NotBe(JsonTextState.Complete);
        if (badAt >= 0)
        {
            validator.Error.Should().Contain($"at character {badAt}");
        }
        else
        {
            validator.State.Should().Be(JsonTextState.ValidPrefix, "an unfinished value is a prefix, never complete");
        }

        FluentActions.Invoking(() => System.Text.Json.JsonDocument.Parse(json)).Should().Throw<System.Text.Json.JsonException>();
    }

    [Fact]
    public void Validator_NestingDeeperThanTheLimit_IsInvalid()
    {
        var validator = new JsonStreamValidator(maxDepth: 3);
        validator.Append("[[[");
        validator.State.Should().Be(JsonTextState.ValidPrefix);
        validator.Append("[");
        validator.State.Should().Be(JsonTextState.Invalid);
        validator.Error.Should().Contain("deeper than 3");
    }

    [Fact]
    public void Validator_ALongStringInManyPieces_IsCheckedOnceAndStaysAPrefix()
    {
        var validator = new JsonStreamValidator();
        validator.Append("{\"text\":\"");
        for (int i = 0; i < 10_000; i++)
        {
            validator.Append("lorem ipsum ");
        }

        validator.State.Should().Be(JsonTextState.ValidPrefix);
        validator.Append("\"}");
        validator.State.Should().Be(JsonTextState.Complete);
        validator.Length.Should().Be(9 + (10_000 * 12) + 2);
    }

    [Theory]
    [InlineData("text\n```csharp\nvar x = 1;\n```\nafter", false, 1)]
    [InlineData("text\n```csharp\nvar x = 1;\n", true, 1)]
    [InlineData("```\ncode", true, 1)]
    [InlineData("   ~~~~\n```\nstill inside\n~~~\n", true, 1)] // ``` inside a ~~~ block closes nothing; ~~~ shorter than ~~~~ neither
    [InlineData("   ~~~~\n```\n~~~~~ \n", false, 1)]
    [InlineData("    ```\nindented four: not a fence\n", false, 0)]
    [InlineData("inline ``` is not a fence\n", false, 0)]
    [InlineData("```\n```python\nstill inside: a closing fence has no info string\n", true, 1)]
    [InlineData("``` a`b\nnot a fence: a backtick in the info string\n", false, 0)]
    [InlineData("```\r\ncode\r\n```\r\n", false, 1)]
    [InlineData("```js\n1\n```\n```py\n2\n```\n", false, 2)]
    public void FenceTracker_FollowsFencesWhateverThePieces(string text, bool inside, int opened)
    {
        for (int split = 0; split <= text.Length; split++)
        {
            var tracker = new MarkdownFenceTracker();
            tracker.Append(text.AsSpan(0, split));
            tracker.Append(text.AsSpan(split));
            tracker.IsInsideFence.Should().Be(inside, "split at {0}", split);
            tracker.FencesOpened.Should().Be(opened);
        }

        var byChar = new MarkdownFenceTracker();
        foreach (char c in text)
        {
            byChar.Append([c]);
        }

        byChar.IsInsideFence.Should().Be(inside);
    }

    [Fact]
    public void FenceTracker_AFenceStillArriving_CountsAtOnce()
    {
        var tracker = new MarkdownFenceTracker();
        tracker.Append("Here:\n``");
        tracker.IsInsideFence.Should().BeFalse();
        tracker.Append("`py");
        tracker.IsInsideFence.Should().BeTrue("the block has begun, even before its line ends");
        tracker.Append("thon\nprint()\n``");
        tracker.IsInsideFence.Should().BeTrue();
        tracker.Append("`");
        tracker.IsInsideFence.Should().BeFalse("the closing fence has arrived");
    }
}
