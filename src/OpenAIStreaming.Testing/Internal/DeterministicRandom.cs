using System.Security.Cryptography;
using System.Text;

namespace OpenAIStreaming.Testing.Internal;

/// <summary>A small SplitMix64 generator: the same seed gives the same numbers on every machine and run.</summary>
internal sealed class DeterministicRandom(ulong seed)
{
    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private ulong _state = seed;

    /// <summary>A seed from the SHA-256 of <paramref name="text"/> (stable, unlike <see cref="string.GetHashCode()"/>).</summary>
    public static ulong SeedFrom(string text)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return BitConverter.ToUInt64(hash);
    }

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public int Next(int maxExclusive) => (int)(Next() % (ulong)maxExclusive);

    public int Next(int minInclusive, int maxExclusive) => minInclusive + Next(maxExclusive - minInclusive);

    public string NextId(int length)
    {
        return string.Create(length, this, static (span, random) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = Alphanumeric[random.Next(Alphanumeric.Length)];
            }
        });
    }
}
