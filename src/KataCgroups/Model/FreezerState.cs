namespace KataCgroups.Model;

/// <summary>Freezer states.</summary>
public enum FreezerState
{
    /// <summary>Running.</summary>
    Thawed,
    /// <summary>Stopped.</summary>
    Frozen,
}
