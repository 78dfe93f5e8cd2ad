using System.Text;
using OpenAIStreaming.Internal;

namespace OpenAIStreaming.Tests.Protocol;

/// <summary>The per-stream cache of repeating string values: one instance per distinct value, bounded, growing only as used.</summary>
public sealed class Utf8StringCacheTests
{
    [Fact]
    public void Get_ARepeatedValue_IsTheSameInstance_AcrossGrowthAndReuse()
    {
        var cache = new Utf8StringCache(capacity: 6);
        string first = cache.Get("chatcmpl-1"u8);
        for (int i = 0; i < 4; i++)
        {
            cache.Get(Encoding.UTF8.GetBytes($"value {i}")); // grows past its first slots
        }

        cache.Get("chatcmpl-1"u8).Should().BeSameAs(first);
    }

    [Fact]
    public void Get_MoreDistinctValuesThanTheCapacity_StillReturnsEveryValueRight()
    {
        var cache = new Utf8StringCache(capacity: 3);
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 10; i++)
            {
                cache.Get(Encoding.UTF8.GetBytes($"v{i} é")).Should().Be($"v{i} é");
            }
        }
    }

    [Fact]
    public void Get_InvalidUtf8_IsRefusedWhenStrictAndReplacedWhenLenient()
    {
        byte[] invalid = [0x61, 0xFF, 0x62];
        FluentActions.Invoking(() => new Utf8StringCache(4).Get(invalid)).Should().Throw<InvalidOperationException>();
        new Utf8StringCache(4, strict: false).Get(invalid).Should().Be("a\uFFFDb");
    }
}
