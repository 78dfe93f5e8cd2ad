using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace OpenAIStreaming.Benchmarks;

/// <summary>A summary column that divides the mean time or the allocated bytes of one operation by the chunks in the stream.</summary>
public sealed class PerChunkColumn : IColumn
{
    private readonly bool _allocation;
    private readonly int _chunkCount;

    private PerChunkColumn(bool allocation, int chunkCount)
    {
        _allocation = allocation;
        _chunkCount = chunkCount;
    }

    /// <summary>Mean time of one stream divided by its chunk count, in nanoseconds.</summary>
    public static PerChunkColumn Time(int chunkCount) => new(allocation: false, chunkCount);

    /// <summary>Bytes allocated by one stream divided by its chunk count.</summary>
    public static PerChunkColumn Allocation(int chunkCount) => new(allocation: true, chunkCount);

    public string Id => _allocation ? "PerChunk.Allocated" : "PerChunk.Time";

    public string ColumnName => _allocation ? "B/chunk" : "ns/chunk";

    public bool AlwaysShow => true;

    public ColumnCategory Category => _allocation ? ColumnCategory.Metric : ColumnCategory.Statistics;

    public int PriorityInCategory => 100;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => _allocation
        ? $"Bytes allocated per stream divided by its {_chunkCount:N0} chunks"
        : $"Mean time per stream divided by its {_chunkCount:N0} chunks, in nanoseconds";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report is null || !report.Success || benchmarkCase.Descriptor.Type == typeof(Calls.CallBenchmarks))
        {
            return "NA"; // a whole call of 60 chunks is measured per call, not per chunk
        }

        if (_allocation)
        {
            long? bytes = report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase);
            return bytes is { } b ? (b / (double)_chunkCount).ToString("N1", style.CultureInfo) : "NA";
        }

        return report.ResultStatistics is { } statistics
            ? (statistics.Mean / _chunkCount).ToString("N1", style.CultureInfo)
            : "NA";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
