namespace OpenAIStreaming.Tests.Support;

/// <summary>What an enumeration delivered before it ended, and the exception it ended with (null when it completed).</summary>
public sealed record Captured<T>(IReadOnlyList<T> Items, Exception? Error)
{
    /// <summary>Asserts the enumeration ended with a <typeparamref name="TException"/> and returns it.</summary>
    public TException ErrorShouldBe<TException>()
        where TException : Exception =>
        Error.Should().BeAssignableTo<TException>($"the enumeration should end with {typeof(TException).Name}").Subject;
}
