namespace Doppel.Interception.Tests.Support;

/// <summary>Carries an object created inside the isolated namespace's setup out to the test, and disposes it.</summary>
internal sealed class Holder<T> : IDisposable
    where T : class, IDisposable
{
    public T? Value { get; set; }

    public void Dispose() => Value?.Dispose();
}
