namespace OpenAIStreaming.Protocol;

/// <summary>The kinds of Responses API stream events this library gives typed access to.</summary>
public enum ResponseStreamEventKind
{
    /// <summary>Any other event type (see <see cref="ResponseStreamEvent.Type"/> and <see cref="ResponseStreamEvent.Json"/>).</summary>
    Other,

    /// <summary><c>response.created</c>.</summary>
    Created,

    /// <summary><c>response.in_progress</c>.</summary>
    InProgress,

    /// <summary><c>response.queued</c> (background mode).</summary>
    Queued,

    /// <summary><c>response.output_item.added</c>.</summary>
    OutputItemAdded,

    /// <summary><c>response.output_item.done</c>.</summary>
    OutputItemDone,

    /// <summary><c>response.content_part.added</c>.</summary>
    ContentPartAdded,

    /// <summary><c>response.content_part.done</c>.</summary>
    ContentPartDone,

    /// <summary><c>response.output_text.delta</c>: <see cref="ResponseStreamEvent.Delta"/> holds the text.</summary>
    OutputTextDelta,

    /// <summary><c>response.output_text.done</c>: <see cref="ResponseStreamEvent.Text"/> holds the full text.</summary>
    OutputTextDone,

    /// <summary><c>response.refusal.delta</c>.</summary>
    RefusalDelta,

    /// <summary><c>response.refusal.done</c>.</summary>
    RefusalDone,

    /// <summary><c>response.function_call_arguments.delta</c>.</summary>
    FunctionCallArgumentsDelta,

    /// <summary><c>response.function_call_arguments.done</c>: <see cref="ResponseStreamEvent.Text"/> holds the full arguments.</summary>
    FunctionCallArgumentsDone,

    /// <summary><c>response.completed</c>: the terminal event of a successful response.</summary>
    Completed,

    /// <summary><c>response.incomplete</c>: a terminal event; <see cref="ResponseStreamEvent.IncompleteReason"/> says why.</summary>
    Incomplete,

    /// <summary><c>response.failed</c>. The typed reader throws <see cref="OpenAIStreamException"/> instead of yielding it.</summary>
    Failed,

    /// <summary><c>error</c>. The typed reader throws <see cref="OpenAIStreamException"/> instead of yielding it.</summary>
    Error,
}
