# Rootless (opencontainers/cgroups fs/fs.go): in a child pwsh without privileges over cgroupfs, every mutating cmdlet writes a warning
# saying what it skipped and changes nothing; the read-only cmdlets still work, here on a cgroup root made.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
}

AfterAll {
    Remove-KcRootless
}

# Rootless = not euid 0, or uid 0 in a user namespace that is not the initial one (there the kernel would even
# let the mkdir through on root-owned cgroupfs, so only the module's guard keeps the host unchanged).
Describe 'Rootless (<Kind>)' -ForEach @(
    @{ Kind = 'uid 65534'; UserNamespace = $false; Euid = 65534; UidMap = 'identity' }
    @{ Kind = 'uid 0 in a user namespace'; UserNamespace = $true; Euid = 0; UidMap = 'other' }
) {
    BeforeAll {
        $Root = New-KcTestRoot
        $ExistingPath = "$Root/pod1/existing"
        $Existing = New-KataCgroup -Path $ExistingPath -MemoryLimit 256MB -PidsLimit 16 -WarningAction SilentlyContinue
        $Inside = Start-KcSleep       # root puts this one in the cgroup
        $Outside = Start-KcSleep      # the rootless child tries to add this one
        $Existing | Add-KataCgroupProcess -Id $Inside.Id
        $OutsideBefore = @(Get-KcProcessCgroup $Outside.Id).Path
        $NewPath = "$Root/pod2/new"

        # One child pwsh runs every cmdlet and reports what each emitted, warned and failed with as JSON.
        $script = @'
$ErrorActionPreference = 'Continue'
function Report([object[]] $out, $w, $e) {
    [ordered]@{
        Output   = $out.Count
        Warnings = @($w | ForEach-Object { "$_" })
        Errors   = @($e | ForEach-Object { $_.FullyQualifiedErrorId + ': ' + $_.Exception.Message })
    }
}
$r = [ordered]@{}
$r.Euid = [int] ((Get-Content /proc/self/status | Where-Object { $_ -like 'Uid:*' }) -split '\s+')[2]
$r.Identity = if (((Get-Content /proc/self/uid_map -Raw).Trim() -split '\s+') -join ' ' -eq '0 0 4294967295') { 'identity' } else { 'other' }

$out = @(New-KataCgroup -Path '@NEW@' -MemoryLimit 128MB -PidsLimit 8 -WarningVariable w -ErrorVariable e -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)
$r.New = Report $out $w $e
$out = @(Set-KataCgroupResource -Path '@EXISTING@' -MemoryLimit 512MB -PidsLimit 99 -PassThru -WarningVariable w -ErrorVariable e -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)
$r.Set = Report $out $w $e
$out = @(Add-KataCgroupProcess -Path '@EXISTING@' -Id @OUTSIDE@ -PassThru -WarningVariable w -ErrorVariable e -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)
$r.Add = Report $out $w $e
$out = @(Remove-KataCgroup -Path '@EXISTING@' -WarningVariable w -ErrorVariable e -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)
$r.Remove = Report $out $w $e
$out = @(Remove-KataCgroup -Path '@EXISTING@' -Kill -WarningVariable w -ErrorVariable e -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)
$r.RemoveKill = Report $out $w $e

$rows = @(Get-KataCgroupPath -Path '@EXISTING@' -ErrorVariable e -ErrorAction SilentlyContinue)
$r.Paths = [ordered]@{ Rows = @($rows | ForEach-Object { [ordered]@{ Controller = $_.Controller; Directory = $_.Directory; Exists = $_.Exists } }); Errors = @($e | ForEach-Object { "$_" }) }
$g = @(Get-KataCgroup -Path '@EXISTING@' -ErrorVariable e -ErrorAction SilentlyContinue)
$r.Get = [ordered]@{ Count = $g.Count; Objects = @($g | Select-Object Path, CgroupPath, MemoryLimit, PidsLimit, Pids, MissingIn); Errors = @($e | ForEach-Object { "$_" }) }
$l = @(Get-KataCgroup -Root '@ROOT@' -ErrorVariable e -ErrorAction SilentlyContinue)
$r.List = [ordered]@{ CgroupPaths = @($l | ForEach-Object CgroupPath); Errors = @($e | ForEach-Object { "$_" }) }
'KCRESULT:' + ($r | ConvertTo-Json -Depth 6 -Compress)
'@
        $script = $script.Replace('@NEW@', $NewPath).Replace('@EXISTING@', $ExistingPath).Replace('@OUTSIDE@', "$($Outside.Id)").Replace('@ROOT@', $Root)
        $Child = Invoke-KcRootless -Script $script -UserNamespace:$UserNamespace
        $line = ($Child.StdOut -split "`n") | Where-Object { $_.StartsWith('KCRESULT:') } | Select-Object -First 1
        $Report = if ($line) { $line.Substring('KCRESULT:'.Length) | ConvertFrom-Json }
    }
    AfterAll {
        Clear-KcTestState
    }

    It 'the child pwsh ran as <Kind> and reported back' {
        $Child.ExitCode | Should -Be 0 -Because "the child's stderr was: $($Child.StdErr)"
        $Report | Should -Not -BeNullOrEmpty -Because "the child's output was: $($Child.StdOut) $($Child.StdErr)"
        $Report.Euid | Should -Be $Euid
        $Report.Identity | Should -Be $UidMap
    }

    It 'New-KataCgroup warns that it skipped creating the cgroup, emits nothing and creates no directory' {
        $Report.New.Errors | Should -BeNullOrEmpty
        $Report.New.Output | Should -Be 0
        $Report.New.Warnings -match ('^New-KataCgroup skipped creating cgroup ' + [regex]::Escape("$Root/pod2/kata_new") + ': .*rootless.*nothing was changed') |
            Should -HaveCount 1 -Because "the warnings were: $($Report.New.Warnings -join ' | ')"
        Get-KcExistingDirectory "$Root/pod2" | Should -BeNullOrEmpty
    }

    It 'Set-KataCgroupResource warns that it skipped the update and changes no file' {
        $Report.Set.Errors | Should -BeNullOrEmpty
        $Report.Set.Output | Should -Be 0
        $Report.Set.Warnings -match ('^Set-KataCgroupResource skipped updating cgroup ' + [regex]::Escape($Existing.CgroupPath) + ': .*rootless.*nothing was changed') |
            Should -HaveCount 1 -Because "the warnings were: $($Report.Set.Warnings -join ' | ')"
        # v1 hosts keep these in the memory and pids hierarchies, v2 hosts in the one unified directory.
        $v2 = @(Get-KcHierarchy | Where-Object { -not $_.IsUnified }).Count -eq 0
        $memory = if ($v2) { Get-KcCgroupFile unified $Existing.CgroupPath memory.max } else { Get-KcCgroupFile memory $Existing.CgroupPath memory.limit_in_bytes }
        $pids = if ($v2) { Get-KcCgroupFile unified $Existing.CgroupPath pids.max } else { Get-KcCgroupFile pids $Existing.CgroupPath pids.max }
        $memory | Should -BeExactly '268435456'
        $pids | Should -BeExactly '16'
    }

    It 'Add-KataCgroupProcess warns that it skipped the move and moves nothing' {
        $Report.Add.Errors | Should -BeNullOrEmpty
        $Report.Add.Output | Should -Be 0
        $Report.Add.Warnings -match ('^Add-KataCgroupProcess skipped moving process\(es\) ' + $Outside.Id + ' into cgroup ' + [regex]::Escape($Existing.CgroupPath) + ': .*rootless.*nothing was changed') |
            Should -HaveCount 1 -Because "the warnings were: $($Report.Add.Warnings -join ' | ')"
        @(Get-KcProcessCgroup $Outside.Id).Path | Should -Be $OutsideBefore
    }

    It 'Remove-KataCgroup (with and without -Kill) warns that it skipped the removal and removes nothing' {
        foreach ($r in $Report.Remove, $Report.RemoveKill) {
            $r.Errors | Should -BeNullOrEmpty
            $r.Warnings -match ('^Remove-KataCgroup skipped removing cgroup ' + [regex]::Escape($Existing.CgroupPath) + ': .*rootless.*nothing was changed') |
                Should -HaveCount 1 -Because "the warnings were: $($r.Warnings -join ' | ')"
        }
        foreach ($dir in Get-KcCgroupDirectory $Existing.CgroupPath) { $dir | Should -Exist }
        $Inside.HasExited | Should -BeFalse
        # in every hierarchy this host mounts (a 0:: line of a host without a cgroup2 mount is nobody's to manage)
        $mounted = @(Get-KcExpectedProcessLine)
        @(Get-KcProcessCgroup $Inside.Id | Where-Object Controllers -In $mounted).Path | Select-Object -Unique | Should -Be $Existing.CgroupPath
    }

    It 'Get-KataCgroupPath still works: one existing directory per controller' {
        $Report.Paths.Errors | Should -BeNullOrEmpty
        $expected = @(Get-KataCgroupPath -Path $ExistingPath)
        @($Report.Paths.Rows).Count | Should -Be $expected.Count
        foreach ($row in $Report.Paths.Rows) {
            $row.Directory | Should -BeExactly ((Get-KcControllerMount $row.Controller) + $Existing.CgroupPath)
            $row.Exists | Should -BeTrue
        }
    }

    It 'Get-KataCgroup -Path still works on a cgroup root created' {
        $Report.Get.Errors | Should -BeNullOrEmpty
        $Report.Get.Count | Should -Be 1
        $g = $Report.Get.Objects[0]
        $g.CgroupPath | Should -Be $Existing.CgroupPath
        $g.MemoryLimit | Should -Be 268435456
        $g.PidsLimit | Should -Be 16
        $g.Pids | Should -Be @($Inside.Id)
        $g.MissingIn | Should -BeNullOrEmpty
    }

    It 'Get-KataCgroup -Root still lists it' {
        $Report.List.Errors | Should -BeNullOrEmpty
        $Report.List.CgroupPaths | Should -Be @($Existing.CgroupPath)
    }
}
