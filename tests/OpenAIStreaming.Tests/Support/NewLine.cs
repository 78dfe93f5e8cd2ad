namespace OpenAIStreaming.Tests.Support;

/// <summary>The line-ending style a test input is written in.</summary>
public enum NewLine
{
    Lf,
    CrLf,
    Cr,

    /// <summary>CR, CRLF and LF in turn (in that order, so a CR is never directly followed by a separate LF break).</summary>
    Mixed,
}
