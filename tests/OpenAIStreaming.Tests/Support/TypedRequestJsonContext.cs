using System.Text.Json.Serialization;

namespace OpenAIStreaming.Tests.Support;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TypedChatRequest))]
public sealed partial class TypedRequestJsonContext : JsonSerializerContext;
