using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Support;

/// <summary>
/// The compiled apps the tests run under doppel, built once per fixture into its work directory:
/// a static Go binary (CGO_ENABLED=0: raw syscalls and Go's own resolver, no libc) and a .NET
/// console app (HttpClient on epoll, getaddrinfo through glibc). Each fetches a URL-ish address
/// and prints the body.
/// </summary>
internal static class CompiledPrograms
{
    // net only (no net/http): a fraction of the build time, same resolver and connect path.
    private const string GoSource = """
        package main

        import (
            "fmt"
            "io"
            "net"
            "os"
            "strings"
            "time"
        )

        func main() {
            conn, err := net.DialTimeout("tcp", os.Args[1], 10*time.Second)
            if err != nil { fmt.Println("dial:", err); os.Exit(3) }
            conn.SetDeadline(time.Now().Add(10 * time.Second))
            fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", os.Args[1])
            data, err := io.ReadAll(conn)
            if err != nil { fmt.Println("read:", err); os.Exit(4) }
            parts := strings.SplitN(string(data), "\r\n\r\n", 2)
            if len(parts) != 2 { fmt.Printf("no body in %q\n", data); os.Exit(5) }
            fmt.Print(parts[1])
        }
        """;

    private const string DotnetSource = """
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Console.Write(await http.GetStringAsync(args[0]));
        """;

    /// <summary>Builds the Go program; returns the binary's path.</summary>
    public static Task<string> BuildGoAsync(string directory, CancellationToken cancellationToken)
        => BuildGoAsync(directory, GoSource, "fetch", cancellationToken);

    /// <summary>Builds a static Go program from <paramref name="source"/> (package main, standard library only); returns the binary's path.</summary>
    public static async Task<string> BuildGoAsync(string directory, string source, string name, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "main.go"), source, cancellationToken);
        await BuildCommand.RunAsync("go", ["build", "-o", name, "main.go"], directory, new Dictionary<string, string>
        {
            ["CGO_ENABLED"] = "0",
            ["GOCACHE"] = Path.Combine(directory, "cache"),
            ["GOPATH"] = Path.Combine(directory, "gopath"),
            ["GO111MODULE"] = "off",
        }, cancellationToken);
        return Path.Combine(directory, name);
    }

    /// <summary>Builds the .NET app; returns its apphost's path.</summary>
    public static Task<string> BuildDotnetAsync(string directory, CancellationToken cancellationToken)
        => DotnetProgram.BuildAsync(directory, "fetch", DotnetSource, cancellationToken);
}
