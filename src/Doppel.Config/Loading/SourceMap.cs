namespace Doppel.Config.Loading;

/// <summary>
/// Where each key path of a parsed configuration was written. Paths use the form the error
/// messages show: object members joined with dots (<c>feature.network.incoming</c>), array
/// elements with brackets (<c>feature.fs.read_only[2]</c>). The position of an object member is
/// the position of its key; the position of an array element is the position of its value; the
/// root (empty path) is the start of the document.
/// </summary>
public sealed class SourceMap
{
    private readonly Dictionary<string, SourcePosition> _positions = new(StringComparer.Ordinal);

    public static SourceMap Empty { get; } = new();

    public int Count => _positions.Count;

    public void Add(string keyPath, SourcePosition position) => _positions.TryAdd(keyPath, position);

    /// <summary>The position of <paramref name="keyPath"/>, or of its nearest written ancestor.</summary>
    public SourcePosition? Find(string keyPath)
    {
        var path = keyPath;
        while (true)
        {
            if (_positions.TryGetValue(path, out var p))
            {
                return p;
            }

            if (path.Length == 0)
            {
                return null;
            }

            path = Parent(path);
        }
    }

    public bool TryGetExact(string keyPath, out SourcePosition position) => _positions.TryGetValue(keyPath, out position);

    public static string Child(string parent, string member) => parent.Length == 0 ? member : parent + "." + member;

    public static string Element(string parent, int index) => $"{parent}[{index}]";

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }
}
