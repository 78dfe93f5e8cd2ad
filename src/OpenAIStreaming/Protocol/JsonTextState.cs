namespace OpenAIStreaming.Protocol;

/// <summary>How far a streamed text that should be JSON has come (<see cref="JsonStreamValidator"/>).</summary>
public enum JsonTextState
{
    /// <summary>The text is not checked as JSON.</summary>
    NotChecked,

    /// <summary>Everything so far can begin a valid JSON document, but the document is not complete yet.</summary>
    ValidPrefix,

    /// <summary>The text is one complete, valid JSON value (white space around it allowed).</summary>
    Complete,

    /// <summary>The text cannot be, or begin, a valid JSON document.</summary>
    Invalid,
}
