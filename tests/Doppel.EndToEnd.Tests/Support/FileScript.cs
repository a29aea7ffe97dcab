namespace Doppel.EndToEnd.Tests.Support;

/// <summary>
/// A python app that performs file operations given as arguments and prints one line each:
/// <c>read:PATH</c> (the content, as a python literal), <c>list:PATH</c> (sorted names),
/// <c>append:PATH:TEXT</c>, <c>create:PATH:TEXT</c>, <c>mkdir:PATH</c>, <c>unlink:PATH</c>
/// (<c>ok</c>); a failure prints the errno name and message, e.g. <c>EROFS Read-only file system</c>.
/// </summary>
internal static class FileScript
{
    private const string Source = """
        import errno, os, sys

        def run(op, path, text):
            if op == "read":
                with open(path) as f:
                    return repr(f.read())
            if op == "list":
                return ",".join(sorted(os.listdir(path)))
            if op in ("append", "create"):
                with open(path, "a" if op == "append" else "x") as f:
                    f.write(text + "\n")
                return "ok"
            if op == "mkdir":
                os.mkdir(path)
                return "ok"
            if op == "unlink":
                os.unlink(path)
                return "ok"
            raise SystemExit("unknown op " + op)

        for arg in sys.argv[1:]:
            op, path, text = (arg.split(":", 2) + [""])[:3]
            try:
                result = run(op, path, text)
            except OSError as e:
                result = f"{errno.errorcode[e.errno]} {e.strerror}"
            print(f"{op} {path}: {result}", flush=True)
        """;

    public static string Write(ClusterFixture fixture) => fixture.WriteFile("files.py", Source);
}
