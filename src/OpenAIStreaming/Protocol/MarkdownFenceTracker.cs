namespace OpenAIStreaming.Protocol;

/// <summary>
/// Follows the Markdown code fences of a streamed text (<c>```</c> or <c>~~~</c> at the start of a line, up to three spaces
/// in, as CommonMark has them), piece by piece, so a user interface can tell whether the text so far ends inside a code
/// block and never renders an unclosed fence as final. Each character is looked at once; the state is a few fields.
/// </summary>
/// <remarks>
/// A line is judged when it ends; while the last line is still arriving, a fence on it already counts
/// (<see cref="IsInsideFence"/> turns true as soon as <c>```</c> starts a line outside a block). Not thread-safe.
/// </remarks>
public sealed class MarkdownFenceTracker
{
    private char _openChar; // the fence character of the open block, or '\0' outside one
    private int _openLength;
    private LinePart _part = LinePart.Indent;
    private int _indent;
    private char _runChar;
    private int _runLength;
    private bool _restAllowed;

    private enum LinePart : byte
    {
        Indent,
        Run,
        Rest,
        Other,
    }

    /// <summary>Gets a value indicating whether the text so far ends inside a fenced code block.</summary>
    public bool IsInsideFence
    {
        get
        {
            bool inside = _openChar != '\0';
            return LineIsFence ? !inside || !Closes : inside;
        }
    }

    /// <summary>Gets how many fenced code blocks were opened.</summary>
    public int FencesOpened { get; private set; }

    private bool LineIsFence => _part is LinePart.Run or LinePart.Rest && _runLength >= 3 && _restAllowed;

    private bool Closes => _runChar == _openChar && _runLength >= _openLength;

    /// <summary>Follows the next piece of the text.</summary>
    /// <param name="text">The piece, in order.</param>
    public void Append(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\n')
            {
                EndLine();
                continue;
            }

            switch (_part)
            {
                case LinePart.Indent when c == ' ' && _indent < 3:
                    _indent++;
                    break;
                case LinePart.Indent when c is '`' or '~':
                    _part = LinePart.Run;
                    _runChar = c;
                    _runLength = 1;
                    _restAllowed = true;
                    break;
                case LinePart.Run when c == _runChar:
                    _runLength++;
                    break;
                case LinePart.Run or LinePart.Rest:
                    _part = LinePart.Rest;
                    RestOfFenceLine(c);
                    break;
                default:
                    int newline = text[i..].IndexOf('\n'); // the rest of an ordinary line says nothing
                    if (newline < 0)
                    {
                        _part = LinePart.Other;
                        return;
                    }

                    i += newline - 1;
                    _part = LinePart.Other;
                    break;
            }
        }
    }

    private void RestOfFenceLine(char c)
    {
        if (_openChar != '\0')
        {
            _restAllowed &= c is ' ' or '\t' or '\r'; // a closing fence has nothing after it
        }
        else if (_runChar == '`' && c == '`')
        {
            _restAllowed = false; // a backtick fence's info string holds no backtick
        }
    }

    private void EndLine()
    {
        if (LineIsFence)
        {
            if (_openChar == '\0')
            {
                _openChar = _runChar;
                _openLength = _runLength;
                FencesOpened++;
            }
            else if (Closes)
            {
                _openChar = '\0';
                _openLength = 0;
            }
        }

        _part = LinePart.Indent;
        _indent = 0;
        _runLength = 0;
    }
}
