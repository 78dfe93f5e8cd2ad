namespace OpenAIStreaming.Protocol;

/// <summary>
/// The bounds of a <see cref="ChatCompletionAccumulator"/>: however long or wide a stream is, the accumulator holds at most
/// this much, and reaching a bound fails <see cref="ChatCompletionAccumulator.Append"/> with
/// <see cref="OpenAIStreamProtocolException"/> instead of growing memory without limit. The defaults are far above any real
/// answer.
/// </summary>
public sealed class ChatCompletionAccumulatorOptions
{
    /// <summary>The default of <see cref="MaxCharactersPerChoice"/>: 4,194,304 characters (about a million tokens).</summary>
    public const int DefaultMaxCharactersPerChoice = 4 * 1024 * 1024;

    /// <summary>The default of <see cref="MaxChoices"/>: 128, the largest <c>n</c> OpenAI accepts.</summary>
    public const int DefaultMaxChoices = 128;

    /// <summary>The default of <see cref="MaxToolCallsPerChoice"/>: 128.</summary>
    public const int DefaultMaxToolCallsPerChoice = 128;

    /// <summary>The default of <see cref="MaxToolCallArgumentCharacters"/>: 4,194,304 characters.</summary>
    public const int DefaultMaxToolCallArgumentCharacters = 4 * 1024 * 1024;

    /// <summary>The default of <see cref="MaxTotalCharacters"/>: 16,777,216 characters (32 MiB of text).</summary>
    public const int DefaultMaxTotalCharacters = 16 * 1024 * 1024;

    /// <summary>Gets or sets the most text one choice may accumulate: its content and its refusal together, in UTF-16 characters.</summary>
    /// <value>The default is <see cref="DefaultMaxCharactersPerChoice"/>.</value>
    public int MaxCharactersPerChoice { get; set; } = DefaultMaxCharactersPerChoice;

    /// <summary>Gets or sets how many distinct choices (by index) a completion may have.</summary>
    /// <value>The default is <see cref="DefaultMaxChoices"/>.</value>
    public int MaxChoices { get; set; } = DefaultMaxChoices;

    /// <summary>Gets or sets how many distinct tool calls (by index) one choice may have.</summary>
    /// <value>The default is <see cref="DefaultMaxToolCallsPerChoice"/>.</value>
    public int MaxToolCallsPerChoice { get; set; } = DefaultMaxToolCallsPerChoice;

    /// <summary>Gets or sets the longest the assembled arguments of one tool call may be, in UTF-16 characters.</summary>
    /// <value>The default is <see cref="DefaultMaxToolCallArgumentCharacters"/>.</value>
    public int MaxToolCallArgumentCharacters { get; set; } = DefaultMaxToolCallArgumentCharacters;

    /// <summary>
    /// Gets or sets the most text the whole completion may accumulate, in UTF-16 characters: the content, refusals and
    /// tool-call arguments of every choice together. It bounds what the other limits multiply (many choices, many tool calls).
    /// </summary>
    /// <value>The default is <see cref="DefaultMaxTotalCharacters"/>.</value>
    public int MaxTotalCharacters { get; set; } = DefaultMaxTotalCharacters;

    /// <summary>
    /// Gets or sets a value indicating whether each choice's content is checked as JSON as it streams
    /// (<see cref="ChatChoiceProgress.Content"/>, <see cref="ChatChoiceResult.ContentJson"/>): for JSON mode and structured
    /// outputs (<c>response_format</c> <c>json_object</c> or <c>json_schema</c>). Tool-call arguments are always checked.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool CheckContentAsJson { get; set; }

    /// <summary>Throws when a bound is not positive.</summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxCharactersPerChoice, 1, nameof(MaxCharactersPerChoice));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxChoices, 1, nameof(MaxChoices));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxToolCallsPerChoice, 1, nameof(MaxToolCallsPerChoice));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxToolCallArgumentCharacters, 1, nameof(MaxToolCallArgumentCharacters));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTotalCharacters, 1, nameof(MaxTotalCharacters));
    }
}
