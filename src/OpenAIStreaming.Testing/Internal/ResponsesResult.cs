namespace OpenAIStreaming.Testing.Internal;

/// <summary>A rendered Responses answer: its id, its stream, and the response object when finished and when just queued.</summary>
internal sealed record ResponsesResult(string Id, StreamPlan Plan, string FinalJson, string QueuedJson);
