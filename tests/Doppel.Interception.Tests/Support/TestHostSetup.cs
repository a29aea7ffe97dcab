using System.Runtime.CompilerServices;

namespace Doppel.Interception.Tests.Support;

internal static class TestHostSetup
{
    /// <summary>
    /// The supervisors of every test share this process's thread pool with fixtures that block
    /// while building programs (go, dotnet) on 2 cores: start with enough threads that a blocked
    /// fixture does not delay other tests' remote-call continuations by seconds.
    /// </summary>
    [ModuleInitializer]
    internal static void RaiseMinimumThreads() => ThreadPool.SetMinThreads(32, 32);
}
