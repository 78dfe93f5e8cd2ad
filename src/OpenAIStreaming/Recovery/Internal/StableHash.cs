namespace OpenAIStreaming.Recovery.Internal;

/// <summary>
/// A 64-bit FNV-1a hash of text, over its UTF-16 code units (low byte, then high byte): the same value for the same text in
/// every process and on every machine, so a checkpoint can be stored and compared later. Not for security.
/// </summary>
internal static class StableHash
{
    public const ulong Empty = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Append(ulong hash, ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            hash = (hash ^ (byte)c) * Prime;
            hash = (hash ^ (byte)(c >> 8)) * Prime;
        }

        return hash;
    }

    public static ulong Append(ulong hash, ulong value)
    {
        for (int i = 0; i < 8; i++)
        {
            hash = (hash ^ (byte)(value >> (8 * i))) * Prime;
        }

        return hash;
    }

    public static ulong Append(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }

        return hash;
    }

    /// <summary>
    /// Hashes an event's data leaving out the values of <c>"id"</c>, <c>"created"</c> and <c>"obfuscation"</c>, which differ
    /// in every response to the same request; what is left is what a replay of the same answer reproduces.
    /// </summary>
    public static ulong OfEventWithoutResponseFields(ReadOnlySpan<byte> data)
    {
        ulong hash = Empty;
        while (true)
        {
            int at = FirstResponseField(data, out int keyLength);
            if (at < 0)
            {
                return Append(hash, data);
            }

            int valueStart = at + keyLength;
            hash = Append(hash, data[..valueStart]);
            ReadOnlySpan<byte> value = data[valueStart..];
            int valueEnd = value.Length > 0 && value[0] == (byte)'"' ? value[1..].IndexOf((byte)'"') + 1 : value.IndexOfAny((byte)',', (byte)'}');
            if (valueEnd <= 0)
            {
                return hash; // the event ends inside the value
            }

            data = value[valueEnd..];
        }
    }

    private static int FirstResponseField(ReadOnlySpan<byte> data, out int keyLength)
    {
        int first = -1;
        keyLength = 0;
        Consider(data, "\"id\":"u8, ref first, ref keyLength);
        Consider(data, "\"created\":"u8, ref first, ref keyLength);
        Consider(data, "\"obfuscation\":"u8, ref first, ref keyLength);
        return first;

        static void Consider(ReadOnlySpan<byte> data, ReadOnlySpan<byte> key, ref int first, ref int keyLength)
        {
            int at = data.IndexOf(key);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
                keyLength = key.Length;
            }
        }
    }
}
