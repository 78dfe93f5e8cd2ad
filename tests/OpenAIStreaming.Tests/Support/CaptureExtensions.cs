namespace OpenAIStreaming.Tests.Support;

public static class CaptureExtensions
{
    /// <summary>Enumerates to the end or to the first exception, copying each item while it is current.</summary>
    public static async Task<Captured<TCopy>> CaptureAsync<T, TCopy>(this IAsyncEnumerable<T> source, Func<T, TCopy> copy)
    {
        var items = new List<TCopy>();
        try
        {
            await foreach (T item in source)
            {
                items.Add(copy(item));
            }
        }
        catch (Exception ex)
        {
            return new Captured<TCopy>(items, ex);
        }

        return new Captured<TCopy>(items, null);
    }

    public static Task<Captured<T>> CaptureAsync<T>(this IAsyncEnumerable<T> source) => source.CaptureAsync(static item => item);
}
