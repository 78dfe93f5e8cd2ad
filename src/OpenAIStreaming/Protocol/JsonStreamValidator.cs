using System.Buffers;
using System.Globalization;

namespace OpenAIStreaming.Protocol;

/// <summary>
/// Checks a JSON text as it streams in, piece by piece (JSON-mode and structured-output content, a tool call's arguments):
/// after every piece it says whether the text so far can still begin a valid JSON document, and whether it is one complete
/// value. Each character is looked at once — nothing is parsed again from the start — and the state is a few fields plus
/// one entry per open object or array, bounded by the maximum depth.
/// </summary>
/// <remarks>The grammar is RFC 8259's: one value, white space around it, no comments, no trailing commas. Not thread-safe.</remarks>
public sealed class JsonStreamValidator
{
    /// <summary>The default for the maximum nesting depth of objects and arrays.</summary>
    public const int DefaultMaxDepth = 256;

    private static readonly SearchValues<char> StringStops = SearchValues.Create("\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    private readonly int _maxDepth;
    private bool[] _isObject = new bool[8]; // per open container: object (true) or array
    private int _depth;
    private Expect _expect = Expect.Value;
    private NumberPart _number;
    private string? _literal;
    private int _literalAt;
    private int _unicodeLeft;
    private bool _stringIsKey;
    private long _length;

    /// <summary>Creates a validator.</summary>
    /// <param name="maxDepth">The deepest nesting of objects and arrays accepted (a deeper one makes the text invalid).</param>
    public JsonStreamValidator(int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        _maxDepth = maxDepth;
    }

    private enum Expect : byte
    {
        Value,
        ValueOrEndOfArray,
        Key,
        KeyOrEndOfObject,
        Colon,
        CommaOrEnd,
        InString,
        Escape,
        UnicodeEscape,
        InNumber,
        InLiteral,
        Done,
        Failed,
    }

    private enum NumberPart : byte
    {
        Minus,
        Zero,
        Integer,
        Dot,
        Fraction,
        Exponent,
        ExponentSign,
        ExponentDigits,
    }

    /// <summary>Gets how far the text has come: <see cref="JsonTextState.ValidPrefix"/>, <see cref="JsonTextState.Complete"/> or <see cref="JsonTextState.Invalid"/>.</summary>
    public JsonTextState State => _expect switch
    {
        Expect.Failed => JsonTextState.Invalid,
        Expect.Done => JsonTextState.Complete,
        Expect.InNumber when _depth == 0 && NumberCanEnd => JsonTextState.Complete,
        _ => JsonTextState.ValidPrefix,
    };

    /// <summary>Gets how many characters were checked.</summary>
    public long Length => _length;

    /// <summary>Gets what made the text invalid, with the character offset; null while it is valid.</summary>
    public string? Error { get; private set; }

    private bool NumberCanEnd => _number is NumberPart.Zero or NumberPart.Integer or NumberPart.Fraction or NumberPart.ExponentDigits;

    /// <summary>Checks the next piece of the text.</summary>
    /// <param name="text">The piece, in order.</param>
    public void Append(ReadOnlySpan<char> text)
    {
        int i = 0;
        while (i < text.Length && _expect != Expect.Failed)
        {
            if (_expect == Expect.InString)
            {
                int stop = text[i..].IndexOfAny(StringStops); // the body of a string is skipped in bulk
                if (stop < 0)
                {
                    _length += text.Length - i;
                    return;
                }

                _length += stop;
                i += stop;
            }

            Step(text[i]);
            _length++;
            i++;
        }
    }

    /// <summary>Starts over, as for a new text.</summary>
    public void Reset()
    {
        _depth = 0;
        _expect = Expect.Value;
        _length = 0;
        Error = null;
    }

    private void Step(char c)
    {
        switch (_expect)
        {
            case Expect.InString:
                if (c == '"')
                {
                    _expect = _stringIsKey ? Expect.Colon : AfterValue();
                }
                else if (c == '\\')
                {
                    _expect = Expect.Escape;
                }
                else
                {
                    Fail("a control character inside a string");
                }

                return;
            case Expect.Escape:
                if (c == 'u')
                {
                    _unicodeLeft = 4;
                    _expect = Expect.UnicodeEscape;
                }
                else if (c is '"' or '\\' or '/' or 'b' or 'f' or 'n' or 'r' or 't')
                {
                    _expect = Expect.InString;
                }
                else
                {
                    Fail("an invalid escape in a string");
                }

                return;
            case Expect.UnicodeEscape:
                if (!char.IsAsciiHexDigit(c))
                {
                    Fail("an invalid \\u escape in a string");
                }
                else if (--_unicodeLeft == 0)
                {
                    _expect = Expect.InString;
                }

                return;
            case Expect.InNumber:
                if (!StepNumber(c))
                {
                    if (!NumberCanEnd)
                    {
                        Fail("an incomplete number");
                        return;
                    }

                    _expect = AfterValue();
                    Step(c); // the character after the number is the next token's
                }

                return;
            case Expect.InLiteral:
                if (c != _literal![_literalAt])
                {
                    Fail($"an invalid literal (expected '{_literal}')");
                }
                else if (++_literalAt == _literal.Length)
                {
                    _expect = AfterValue();
                }

                return;
            default:
                break;
        }

        if (c is ' ' or '\t' or '\n' or '\r')
        {
            return;
        }

        switch (_expect)
        {
            case Expect.Value:
                StartValue(c);
                break;
            case Expect.ValueOrEndOfArray:
                if (c == ']')
                {
                    Close();
                }
                else
                {
                    StartValue(c);
                }

                break;
            case Expect.KeyOrEndOfObject when c == '}':
                Close();
                break;
            case Expect.Key or Expect.KeyOrEndOfObject:
                if (c == '"')
                {
                    _stringIsKey = true;
                    _expect = Expect.InString;
                }
                else
                {
                    Fail("expected a property name");
                }

                break;
            case Expect.Colon:
                if (c == ':')
                {
                    _expect = Expect.Value;
                }
                else
                {
                    Fail("expected ':' after a property name");
                }

                break;
            case Expect.CommaOrEnd:
                bool inObject = _isObject[_depth - 1];
                if (c == ',')
                {
                    _expect = inObject ? Expect.Key : Expect.Value;
                }
                else if (c == (inObject ? '}' : ']'))
                {
                    Close();
                }
                else
                {
                    Fail(inObject ? "expected ',' or '}'" : "expected ',' or ']'");
                }

                break;
            default: // Done
                Fail("more text after the complete JSON value");
                break;
        }
    }

    private void StartValue(char c)
    {
        switch (c)
        {
            case '{':
            case '[':
                if (_depth == _maxDepth)
                {
                    Fail($"nested deeper than {_maxDepth}");
                    return;
                }

                if (_depth == _isObject.Length)
                {
                    Array.Resize(ref _isObject, Math.Min(_isObject.Length * 2, _maxDepth));
                }

                _isObject[_depth++] = c == '{';
                _expect = c == '{' ? Expect.KeyOrEndOfObject : Expect.ValueOrEndOfArray;
                break;
            case '"':
                _stringIsKey = false;
                _expect = Expect.InString;
                break;
            case '-':
                StartNumber(NumberPart.Minus);
                break;
            case '0':
                StartNumber(NumberPart.Zero);
                break;
            case >= '1' and <= '9':
                StartNumber(NumberPart.Integer);
                break;
            case 't':
                StartLiteral("true");
                break;
            case 'f':
                StartLiteral("false");
                break;
            case 'n':
                StartLiteral("null");
                break;
            default:
                Fail("expected a value");
                break;
        }
    }

    private void StartNumber(NumberPart part)
    {
        _number = part;
        _expect = Expect.InNumber;
    }

    private void StartLiteral(string literal)
    {
        _literal = literal;
        _literalAt = 1;
        _expect = Expect.InLiteral;
    }

    /// <summary>Takes one more character into the number; false when it cannot be part of it.</summary>
    private bool StepNumber(char c)
    {
        bool digit = char.IsAsciiDigit(c);
        NumberPart? next = (_number, c) switch
        {
            (NumberPart.Minus, '0') => NumberPart.Zero,
            (NumberPart.Minus, _) when digit => NumberPart.Integer,
            (NumberPart.Integer, _) when digit => NumberPart.Integer,
            (NumberPart.Zero or NumberPart.Integer, '.') => NumberPart.Dot,
            (NumberPart.Dot or NumberPart.Fraction, _) when digit => NumberPart.Fraction,
            (NumberPart.Zero or NumberPart.Integer or NumberPart.Fraction, 'e' or 'E') => NumberPart.Exponent,
            (NumberPart.Exponent, '+' or '-') => NumberPart.ExponentSign,
            (NumberPart.Exponent or NumberPart.ExponentSign or NumberPart.ExponentDigits, _) when digit => NumberPart.ExponentDigits,
            _ => null,
        };
        if (next is { } part)
        {
            _number = part;
            return true;
        }

        return false;
    }

    private void Close()
    {
        _depth--;
        _expect = AfterValue();
    }

    private Expect AfterValue() => _depth == 0 ? Expect.Done : Expect.CommaOrEnd;

    private void Fail(string what)
    {
        _expect = Expect.Failed;
        Error = string.Create(CultureInfo.InvariantCulture, $"{char.ToUpperInvariant(what[0])}{what[1..]} at character {_length}.");
    }
}
