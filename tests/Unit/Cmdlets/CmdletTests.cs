using System.Management.Automation;
using KataCgroups.Errors;
using KataCgroups.Host;
using KataCgroups.Model;
using KataCgroups.PowerShell;
using KataCgroups.PowerShell.Commands;
using KataCgroups.Tests.Support;

namespace KataCgroups.Tests.Cmdlets;

/// <summary>
/// The cmdlets in-process through Microsoft.PowerShell.SDK: parameter binding, transformations, error ids and
/// -WhatIf. They run against this real host (CgroupManager.Default), so every test uses -WhatIf, input that
/// fails validation, or a read-only cmdlet, and checks that no cgroup directory appeared.
/// </summary>
public sealed class CmdletTests : IDisposable
{
    private readonly PowerShellSession _ps = new();
    private readonly string _unique = "kata-unit-" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<string> _mustNotExist = new();

    public CmdletTests()
    {
        // The directories of the cgroups these tests name: none may exist before or after.
        var manager = CgroupManager.Default;
        foreach (var p in new[] { _unique, "/" + _unique + "/sandbox" })
            _mustNotExist.AddRange(manager.GetPaths(manager.Resolve(p)).Select(r => r.Directory));
        _mustNotExist.AddRange(manager.GetPaths(manager.Resolve("/" + _unique + "/sandbox")).Select(r => Path.GetDirectoryName(r.Directory)!));
        AssertNothingCreated();
    }

    public void Dispose()
    {
        _ps.Dispose();
        AssertNothingCreated();
    }

    private void AssertNothingCreated()
    {
        foreach (var dir in _mustNotExist)
            Assert.False(Directory.Exists(dir), $"{dir} exists");
    }

    private static bool IsHybrid => CgroupManager.Default.Host.Mode == CgroupMode.Hybrid;

    [Fact]
    public void EveryCommandIsASealedCmdletWithOutputTypeAndMutatorsSupportShouldProcess()
    {
        var names = PowerShellSession.CommandTypes
            .Select(t => t.GetCustomAttributes(typeof(CmdletAttribute), false).Cast<CmdletAttribute>().Single())
            .Select(a => $"{a.VerbName}-{a.NounName}").ToList();
        foreach (var name in new[] { "Add-KataCgroupProcess", "Get-KataCgroup", "Get-KataCgroupPath", "New-KataCgroup", "Remove-KataCgroup", "Set-KataCgroupResource" })
            Assert.Contains(name, names);
        foreach (var type in PowerShellSession.CommandTypes)
        {
            Assert.True(type.IsSealed, $"{type.Name} is not sealed");
            var cmdlet = (CmdletAttribute)Attribute.GetCustomAttribute(type, typeof(CmdletAttribute))!;
            Assert.NotEmpty(Attribute.GetCustomAttributes(type, typeof(OutputTypeAttribute)));
            // Get, Test, Wait and Export only read (Export writes JSON to the pipeline, not to the host); everything else changes the host.
            if (cmdlet.VerbName is not (VerbsCommon.Get or VerbsDiagnostic.Test or VerbsLifecycle.Wait or VerbsData.Export))
                Assert.True(cmdlet.SupportsShouldProcess, $"{type.Name} does not support -WhatIf/-Confirm");
        }
    }

    [Fact]
    public void DriverEnum_MatchesTheEnginesSelectionOneForOne()
    {
        // The cmdlets cast KataCgroupDriver to the engine's DriverSelection by value.
        Assert.Equal(Enum.GetNames<KataCgroupDriver>(), Enum.GetNames<KataCgroups.Model.DriverSelection>());
        foreach (var d in Enum.GetValues<KataCgroupDriver>())
            Assert.Equal(d.ToString(), ((KataCgroups.Model.DriverSelection)(int)d).ToString());
    }

    [Fact]
    public void DriverParameter_SystemdRequiresTheSystemdFormAndCgroupfsRefusesIt()
    {
        var (_, newErrors, _) = _ps.Run($"New-KataCgroup -Path '/{_unique}/sandbox' -Driver Systemd -WhatIf");
        Assert.Equal("MalformedSystemdPath,KataCgroups.PowerShell.Commands.NewKataCgroupCommand", Assert.Single(newErrors).FullyQualifiedErrorId);
        var (_, errors, _) = _ps.Run("Get-KataCgroupPath -Path 'system.slice:kata:x' -Driver Cgroupfs");
        Assert.Equal("InvalidCgroupPath,KataCgroups.PowerShell.Commands.GetKataCgroupPathCommand", Assert.Single(errors).FullyQualifiedErrorId);
        var (output, errors2, _) = _ps.Run($"Get-KataCgroupPath -Path '/{_unique}/sandbox' -Driver Cgroupfs");
        Assert.Empty(errors2);
        Assert.NotEmpty(output);
    }

    [Fact]
    public void NewKataCgroup_WhatIf_CreatesNothingAndShowsThePlan()
    {
        var (output, errors, _) = _ps.Run($"New-KataCgroup -Path '../{_unique}' -WhatIf");
        Assert.Empty(errors);
        Assert.Empty(output);
        Assert.Contains("What if:", _ps.Host.Text);
        Assert.Contains($"/vc/kata_{_unique}", _ps.Host.Text);
        Assert.Contains("devices.allow = b 253:* rwm", _ps.Host.Text); // the hypervisor devices are always planned
    }

    [Theory]
    [InlineData("'max'", "-1")]
    [InlineData("'unlimited'", "-1")]
    [InlineData("-1", "-1")]
    [InlineData("'512MB'", "536870912")]
    [InlineData("'1g'", "1073741824")]
    [InlineData("256MB", "268435456")]
    [InlineData("'268435456'", "268435456")]
    public void MemoryLimit_IsTransformedToBytes(string argument, string bytes)
    {
        var (_, errors, _) = _ps.Run($"New-KataCgroup -Path '{_unique}' -MemoryLimit {argument} -WhatIf");
        Assert.Empty(errors);
        Assert.Contains($"memory.limit_in_bytes = {bytes}", _ps.Host.Text);
    }

    [Fact]
    public void PidsLimitMax_IsWrittenAsMax()
    {
        var (_, errors, _) = _ps.Run($"New-KataCgroup -Path '{_unique}' -PidsLimit max -WhatIf");
        Assert.Empty(errors);
        Assert.Contains("pids.max = max", _ps.Host.Text);
    }

    [Fact]
    public void MemoryLimit_NotANumberIsABindingError()
    {
        var (terminating, _) = _ps.RunCatching($"New-KataCgroup -Path '{_unique}' -MemoryLimit 'lots' -WhatIf");
        Assert.NotNull(terminating);
        var binding = Assert.IsAssignableFrom<ParameterBindingException>(terminating!.Exception);
        Assert.Equal("MemoryLimit", binding.ParameterName);
    }

    [Fact]
    public void Resources_HashtableAndJsonBindWithSpecNames_ExplicitParametersWin()
    {
        var (_, errors, _) = _ps.Run($"New-KataCgroup -Path '{_unique}' -Resources @{{ pids = @{{ limit = 42 }}; cpu = @{{ shares = 512 }} }} -WhatIf");
        Assert.Empty(errors);
        Assert.Contains("pids.max = 42", _ps.Host.Text);
        Assert.Contains("cpu.shares = 512", _ps.Host.Text);

        using var second = new PowerShellSession();
        var (_, errors2, _) = second.Run($"New-KataCgroup -Path '{_unique}' -Resources '{{\"pids\":{{\"limit\":43}}}}' -PidsLimit 7 -WhatIf");
        Assert.Empty(errors2);
        Assert.Contains("pids.max = 7", second.Host.Text);
        Assert.DoesNotContain("pids.max = 43", second.Host.Text);
    }

    [Fact]
    public void Resources_PSCustomObjectBinds()
    {
        var (_, errors, _) = _ps.Run($"New-KataCgroup -Path '{_unique}' -Resources ([pscustomobject]@{{ pids = [pscustomobject]@{{ limit = 44 }} }}) -WhatIf");
        Assert.Empty(errors);
        Assert.Contains("pids.max = 44", _ps.Host.Text);
    }

    [Fact]
    public void Resources_InvalidJsonIsTerminatingInvalidOciConfig()
    {
        var (terminating, _) = _ps.RunCatching($"New-KataCgroup -Path '{_unique}' -Resources '{{\"memory\":{{\"limit\":\"abc\"}}}}' -WhatIf");
        Assert.NotNull(terminating);
        Assert.StartsWith(ErrorIds.InvalidOciConfig + ",", terminating!.FullyQualifiedErrorId);
    }

    [Fact]
    public void OciConfig_CgroupsPathAndResourcesFromTheFile()
    {
        using var dir = new TempDir();
        var config = dir.Write("config.json",
            $$"""{ "linux": { "cgroupsPath": "/{{_unique}}/sandbox", "resources": { "memory": { "limit": 268435456 }, "pids": { "limit": 64 } } } }""");
        var (_, errors, _) = _ps.Run($"New-KataCgroup -OciConfig '{config}' -WhatIf");
        Assert.Empty(errors);
        Assert.Contains($"/{_unique}/kata_sandbox", _ps.Host.Text);
        Assert.Contains("memory.limit_in_bytes = 268435456", _ps.Host.Text);
        Assert.Contains("pids.max = 64", _ps.Host.Text);
    }

    [Fact]
    public void OciConfig_MissingFileIsTerminatingOciConfigNotFound()
    {
        var (terminating, _) = _ps.RunCatching($"New-KataCgroup -OciConfig '/nonexistent/{_unique}/config.json' -WhatIf");
        Assert.NotNull(terminating);
        Assert.StartsWith(ErrorIds.OciConfigNotFound + ",", terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, terminating.CategoryInfo.Category);
    }

    [Fact]
    public void SetKataCgroupResource_SharesOutOfRangeIsInvalidResourceValue()
    {
        var (terminating, errors) = _ps.RunCatching($"Set-KataCgroupResource -CpuShares 1 -Path '{_unique}'");
        var error = terminating ?? Assert.Single(errors);
        Assert.StartsWith(ErrorIds.InvalidResourceValue, error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
    }

    [Fact]
    public void SetKataCgroupResource_SharesOutOfRangeIsTerminating()
    {
        // A bad -CpuShares is the same for every pipeline item: invalid invocation → ThrowTerminatingError (STYLE rule 4).
        var (terminating, errors) = _ps.RunCatching($"Set-KataCgroupResource -CpuShares 1 -Path '{_unique}'");
        Assert.NotNull(terminating);
        Assert.StartsWith(ErrorIds.InvalidResourceValue + ",", terminating!.FullyQualifiedErrorId);
        Assert.Empty(errors);
    }

    [Fact]
    public void SetKataCgroupResource_SwappinessAbove100FailsParameterValidation()
    {
        var (terminating, _) = _ps.RunCatching($"Set-KataCgroupResource -MemorySwappiness 101 -Path '{_unique}' -WhatIf");
        Assert.NotNull(terminating);
        Assert.StartsWith("ParameterArgumentValidationError,", terminating!.FullyQualifiedErrorId);
    }

    [Fact]
    public void SetKataCgroupResource_NegativeSharesIsInvalidResourceValue()
    {
        var (terminating, errors) = _ps.RunCatching($"Set-KataCgroupResource -CpuShares -5 -Path '{_unique}' -WhatIf");
        var error = terminating ?? Assert.Single(errors);
        Assert.StartsWith(ErrorIds.InvalidResourceValue, error.FullyQualifiedErrorId);
    }

    [Fact]
    public void BlkioWeightTooLargeForTheOciTypeIsInvalidResourceValue()
    {
        var (terminating, errors) = _ps.RunCatching($"Set-KataCgroupResource -BlkioWeight 70000 -Path '{_unique}' -WhatIf");
        var error = terminating ?? Assert.Single(errors);
        Assert.StartsWith(ErrorIds.InvalidResourceValue, error.FullyQualifiedErrorId);
    }

    [Fact]
    public void BlkioWeightTooLargeMessageNamesTheValue()
    {
        var (terminating, errors) = _ps.RunCatching($"Set-KataCgroupResource -BlkioWeight 70000 -Path '{_unique}' -WhatIf");
        var error = terminating ?? Assert.Single(errors);
        Assert.Contains("70000", error.Exception.Message);
        Assert.DoesNotContain("negative", error.Exception.Message);
    }

    [Fact]
    public void SetKataCgroupResource_MissingCgroupIsCgroupNotFoundAndNoValuesWarns()
    {
        var (_, errors, warnings) = _ps.Run($"Set-KataCgroupResource -Path '{_unique}' -WhatIf");
        Assert.Contains(warnings, w => w.Message.Contains("no resource values", StringComparison.Ordinal));
        var error = Assert.Single(errors);
        Assert.StartsWith(ErrorIds.CgroupNotFound + ",", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
    }

    [Fact]
    public void GetKataCgroupPath_OneRowPerControllerEndingInTheKataLeaf()
    {
        var (output, errors, _) = _ps.Run("Get-KataCgroupPath -Path /kubepods/pod1/sandbox1");
        Assert.Empty(errors);
        var rows = output.Select(o => Assert.IsType<KataCgroupPath>(o.BaseObject)).ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r =>
        {
            Assert.EndsWith("/kubepods/pod1/kata_sandbox1", r.Directory);
            Assert.Equal("/kubepods/pod1/kata_sandbox1", r.CgroupPath);
            Assert.Equal(Directory.Exists(r.Directory), r.Exists);
        });
        var expected = CgroupManager.Default.GetPaths(CgroupManager.Default.Resolve("/kubepods/pod1/sandbox1"));
        Assert.Equal(expected.Select(p => p.Controller), rows.Select(r => r.Controller));
        Assert.Equal(rows.Count, rows.Select(r => r.Controller).Distinct().Count());
        if (IsHybrid)
        {
            Assert.Contains(rows, r => r.Controller == "name=systemd");
            Assert.Contains(rows, r => r.Controller == "unified");
            Assert.Contains(rows, r => r.Controller == "memory" && r.Directory == "/sys/fs/cgroup/memory/kubepods/pod1/kata_sandbox1");
        }
    }

    [Fact]
    public void GetKataCgroupPath_ControllerFilterAndPipelineByPropertyName()
    {
        var (output, errors, _) = _ps.Run("[pscustomobject]@{ Path = 'foo/bar' } | Get-KataCgroupPath -Controller MEMORY");
        Assert.Empty(errors);
        var row = Assert.IsType<KataCgroupPath>(Assert.Single(output).BaseObject);
        Assert.Equal("memory", row.Controller);
        Assert.EndsWith("/vc/foo/kata_bar", row.Directory);
    }

    [Fact]
    public void GetKataCgroupPath_InvalidPathIsNonTerminating()
    {
        // the bad item comes first: the good one after it must still be processed
        var (output, errors, _) = _ps.Run("[pscustomobject]@{ Path = \"bad`0path\" }, [pscustomobject]@{ Path = 'ok' } | Get-KataCgroupPath -Controller memory");
        var error = Assert.Single(errors);
        Assert.StartsWith(ErrorIds.InvalidCgroupPath + ",", error.FullyQualifiedErrorId);
        Assert.Equal("bad\0path", error.TargetObject);
        Assert.EndsWith("/vc/kata_ok", Assert.IsType<KataCgroupPath>(Assert.Single(output).BaseObject).Directory);
    }

    [Fact]
    public void AddKataCgroupProcess_BindsIdByPropertyName()
    {
        var (_, errors, _) = _ps.Run($"[pscustomobject]@{{ Id = 123 }} | Add-KataCgroupProcess -Path '{_unique}' -WhatIf");
        Assert.Empty(errors);
        Assert.Contains($"Move process(es) 123 into cgroup /vc/kata_{_unique}", _ps.Host.Text);
    }

    [Fact]
    public void AddKataCgroupProcess_BindsPathAndAliasFromTheSameObject()
    {
        var (_, errors, _) = _ps.Run($"[pscustomobject]@{{ ProcessId = 77; Path = '{_unique}' }} | Add-KataCgroupProcess -WhatIf");
        Assert.Empty(errors);
        Assert.Contains($"Move process(es) 77 into cgroup /vc/kata_{_unique}", _ps.Host.Text);
    }

    [Fact]
    public void AddKataCgroupProcess_BindsAProcessObject()
    {
        var (_, errors, _) = _ps.Run($"[System.Diagnostics.Process]::GetCurrentProcess() | Add-KataCgroupProcess -Path '{_unique}' -WhatIf");
        Assert.Empty(errors);
        Assert.Contains($"Move process(es) {Environment.ProcessId} into", _ps.Host.Text);
    }

    [Fact]
    public void AddKataCgroupProcess_PidZeroIsInvalidProcessId()
    {
        var (_, errors, _) = _ps.Run($"[pscustomobject]@{{ Pid = 0 }} | Add-KataCgroupProcess -Path '{_unique}' -WhatIf");
        var error = Assert.Single(errors);
        Assert.StartsWith(ErrorIds.InvalidProcessId + ",", error.FullyQualifiedErrorId);
        Assert.DoesNotContain("What if:", _ps.Host.Text);
    }

    [Fact]
    public void InvalidDeviceRuleIsTerminatingInvalidDeviceRule()
    {
        var (terminating, _) = _ps.RunCatching($"New-KataCgroup -Path '{_unique}' -Device 'x 1:2 rwm' -WhatIf");
        Assert.NotNull(terminating);
        Assert.StartsWith(ErrorIds.InvalidDeviceRule + ",", terminating!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, terminating.CategoryInfo.Category);
        Assert.DoesNotContain("What if:", _ps.Host.Text);
    }

    [Fact]
    public void DeviceRulesAreKeptBeforeTheHypervisorRules()
    {
        var (_, errors, _) = _ps.Run($"New-KataCgroup -Path '{_unique}' -Device 'c 7:7 r' -WhatIf");
        Assert.Empty(errors);
        Assert.Contains("devices.allow = c 7:7 r", _ps.Host.Text);
    }

    [Fact]
    public void NewKataCgroup_ControlCharacterInPathIsInvalidCgroupPath()
    {
        var (terminating, errors) = _ps.RunCatching("New-KataCgroup -Path \"a`0b\" -WhatIf");
        Assert.Null(terminating);
        var error = Assert.Single(errors);
        Assert.StartsWith(ErrorIds.InvalidCgroupPath + ",", error.FullyQualifiedErrorId);
    }

    [Fact]
    public void NewKataCgroup_SystemdFormPlansAScopeWithoutTalkingToSystemd()
    {
        // -WhatIf compiles the unit properties only: no D-Bus connection, no scope, nothing written.
        var (output, errors, _) = _ps.Run("New-KataCgroup -Path 'system.slice:kata:unit-test' -MemoryLimit 256MB -PidsLimit 64 -WhatIf -WarningAction SilentlyContinue");
        Assert.Empty(errors);
        Assert.Empty(output);
        var text = _ps.Host.Text;
        Assert.Contains("systemd scope kata-unit-test.scope", text);
        Assert.Contains("systemd TasksMax=64", text);
        Assert.Contains("systemd DevicePolicy=strict", text);
    }

    [Fact]
    public void GetKataCgroup_MissingPathIsCgroupNotFound()
    {
        var (output, errors, _) = _ps.Run($"Get-KataCgroup -Path '{_unique}'");
        Assert.Empty(output);
        var error = Assert.Single(errors);
        Assert.StartsWith(ErrorIds.CgroupNotFound + ",", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Equal(_unique, error.TargetObject);
    }

    [Fact]
    public void RemoveKataCgroup_MissingPathIsCgroupNotFound()
    {
        var (_, errors, _) = _ps.Run($"Remove-KataCgroup -Path '{_unique}' -WhatIf");
        var error = Assert.Single(errors);
        Assert.StartsWith(ErrorIds.CgroupNotFound + ",", error.FullyQualifiedErrorId);
    }
}
