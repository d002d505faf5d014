using KataCgroups.Errors;
using KataCgroups.Preflight;

namespace KataCgroups;

public sealed partial class CgroupManager
{
    /// <summary>
    /// The preflight checks of this host (<see cref="HostChecks.Run"/>), then whether systemd answers on D-Bus for
    /// systemd-form paths. systemd is only asked when it can be there: it is the init system, or a bus address was
    /// given, or the system bus socket exists — a host without any of them gets its answer at once.
    /// </summary>
    public List<HostCheck> CheckHost(ICgroupLog log)
    {
        var checks = HostChecks.Run(Host);
        checks.Insert(checks.FindIndex(c => c.Name == "Rootless"), CheckSystemd(log));
        return checks;
    }

    private HostCheck CheckSystemd(ICgroupLog log)
    {
        const string name = "Systemd";
        string systemBus = Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS") is { Length: > 0 } env ? env : "/run/dbus/system_bus_socket";
        bool worthAsking = Host.SystemdBooted || _busAddress is not null || systemBus.Contains('=') || File.Exists(systemBus);
        if (!worthAsking)
            return new(name, HostCheckStatus.Warn, "none",
                "systemd is not the init system (no /run/systemd/system) and no system bus runs: slice:prefix:name paths need -SystemdBusAddress");
        try
        {
            var (address, version) = Systemd.Describe(log);
            return new(name, HostCheckStatus.Pass, $"systemd {version}", $"answers on {address}: slice:prefix:name paths become transient scopes");
        }
        catch (CgroupException e)
        {
            return new(name, HostCheckStatus.Warn, "none", $"{e.Message}: slice:prefix:name paths cannot be used");
        }
    }
}
