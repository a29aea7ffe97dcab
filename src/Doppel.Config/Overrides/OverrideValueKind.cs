namespace Doppel.Config.Overrides;

internal enum OverrideValueKind
{
    String,
    Bool,
    Int,
    SemicolonList,
}
