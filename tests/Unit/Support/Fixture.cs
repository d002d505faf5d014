namespace KataCgroups.Tests.Support;

/// <summary>Files under tests/Unit/Fixtures, copied next to the test assembly.</summary>
internal static class Fixture
{
    public static string PathOf(string relative) =>
        Path.Combine(AppContext.BaseDirectory, "Fixtures", relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));
}
