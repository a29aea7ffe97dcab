namespace Doppel.Testing;

/// <summary>
/// A .NET console app built from one Program.cs for a test to run (under doppel, in a pod):
/// net10.0, implicit usings, invariant globalization, built with <c>dotnet build -c Release</c>.
/// </summary>
public static class DotnetProgram
{
    private const string Project = """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <InvariantGlobalization>true</InvariantGlobalization>
          </PropertyGroup>
        </Project>
        """;

    /// <summary>
    /// Writes <c>NAME.csproj</c> and Program.cs (<paramref name="source"/>, top-level statements)
    /// into <paramref name="directory"/> and builds it; returns the apphost's path
    /// (<c>directory/out/NAME</c>). Throws with the build's output when it fails; a cancelled
    /// build is killed.
    /// </summary>
    public static async Task<string> BuildAsync(string directory, string name, string source, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, name + ".csproj"), Project, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "Program.cs"), source, cancellationToken).ConfigureAwait(false);
        await BuildCommand.RunAsync("dotnet", ["build", "-c", "Release", "-o", "out", "-nologo", "--disable-build-servers"], directory, new Dictionary<string, string>(), cancellationToken).ConfigureAwait(false);
        return Path.Combine(directory, "out", name);
    }
}
