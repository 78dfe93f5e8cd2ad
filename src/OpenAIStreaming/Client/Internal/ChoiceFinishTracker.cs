namespace OpenAIStreaming.Client.Internal;

/// <summary>Which choices have been seen and which of them have finished.</summary>
internal sealed class ChoiceFinishTracker
{
    private const int MaxTrackedChoices = Protocol.Internal.JsonReading.MaxIndex + 1; // the decoder rejects larger indexes
    private byte[] _states = new byte[4]; // 0 unseen, 1 seen, 2 finished
    private int _seen;
    private int _finished;

    public bool AllFinished => _seen > 0 && _seen == _finished;

    /// <summary>Describes how far the choices got, for errors: for example "0 of 1 choices had a finish reason".</summary>
    public string Progress => _seen == 0 ? "no choice had begun" : $"{_finished} of {_seen} choices had a finish reason";

    public void Observe(int index, bool finished)
    {
        if ((uint)index >= MaxTrackedChoices)
        {
            return;
        }

        if (index >= _states.Length)
        {
            Array.Resize(ref _states, Math.Max(index + 1, _states.Length * 2));
        }

        byte state = _states[index];
        if (state == 0)
        {
            _seen++;
            state = 1;
        }

        if (finished && state == 1)
        {
            _finished++;
            state = 2;
        }

        _states[index] = state;
    }
}
