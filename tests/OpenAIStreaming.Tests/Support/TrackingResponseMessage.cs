using System.Net;

namespace OpenAIStreaming.Tests.Support;

/// <summary>A response that records whether it was disposed (disposing only its body stream does not count).</summary>
public sealed class TrackingResponseMessage(HttpStatusCode status) : HttpResponseMessage(status)
{
    public bool IsDisposed { get; private set; }

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        base.Dispose(disposing);
    }
}
