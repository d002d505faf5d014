<#
The round trip of Export-KataCgroup: create a cgroup, export it, create another from the export on another path,
and compare every file of every hierarchy of the two with the differential suite's rules (tests/Differential/
compare.psd1: statistics and membership files skipped, devices.list as a set) and its comparer
(Compare-KcDiffFile). Used by Export.Tests.ps1 (v1/hybrid host) and V2/ExportV2.Tests.ps1 (v2 guest).
#>
Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')
Import-Module (Join-Path $PSScriptRoot '../Differential/Differential.psm1')   # Compare-KcDiffFile, Get-KcDiffSkipFile, Get-KcDiffAsSetFile

function Get-KcCgroupFileSet {
    <#
    Every readable file of the cgroup in every hierarchy, as 'mount/file' -> content, minus what compare.psd1
    skips, with the lines of its AsSet files sorted. Write-only files (devices.allow, cgroup.kill…) read as nothing
    and are left out. The mount is named, not the cgroup, so two cgroups' sets compare key for key.
    #>
    param([Parameter(Mandatory)] [string] $CgroupPath)
    $skip = @(Get-KcDiffSkipFile | ForEach-Object Pattern)
    $asSet = @(Get-KcDiffAsSetFile | ForEach-Object Pattern)
    $files = [ordered]@{}
    foreach ($h in Get-KcHierarchy) {
        $dir = $h.MountPoint + $CgroupPath
        if (-not [IO.Directory]::Exists($dir)) { continue }
        foreach ($f in [IO.Directory]::GetFiles($dir) | Sort-Object) {
            $name = [IO.Path]::GetFileName($f)
            if (@($skip | Where-Object { $name -like $_ }).Count) { continue }
            try { $text = [IO.File]::ReadAllText($f) } catch { continue }
            if (@($asSet | Where-Object { $name -like $_ }).Count) {
                $text = (@($text -split "`n" | Where-Object { $_ } | Sort-Object) -join "`n")
            }
            $files["$($h.MountPoint)/$name"] = $text
        }
    }
    $files
}

function Compare-KcCgroupFile {
    <# The files that differ between two cgroups (File, Runc = the first's content, Module = the second's); empty when equal. #>
    param([string] $CgroupPath, [string] $OtherCgroupPath)
    @(Compare-KcDiffFile (Get-KcCgroupFileSet $CgroupPath) (Get-KcCgroupFileSet $OtherCgroupPath))
}

function New-KcCopyFromExport {
    <#
    Export-KataCgroup -AsConfig of $Path into a temporary file, New-KataCgroup -OciConfig of it on $CopyPath, and
    the file removed again; returns the export (Json, Warnings) and the copy.
    #>
    param([string] $Path, [string] $CopyPath)
    $file = [IO.Path]::Combine([IO.Path]::GetTempPath(), "kctest-export-$([guid]::NewGuid().ToString('n')).json")
    try {
        $json = Export-KataCgroup -Path $Path -AsConfig -WarningVariable warnings -WarningAction SilentlyContinue -ErrorAction Stop
        [IO.File]::WriteAllText($file, $json)
        $copy = New-KataCgroup -Path $CopyPath -OciConfig $file -WarningAction SilentlyContinue -ErrorAction Stop
    }
    finally { [IO.File]::Delete($file) }
    [pscustomobject]@{ Json = $json; Warnings = @($warnings | ForEach-Object { "$_" }); Copy = $copy }
}

function Invoke-KcExportRoundTrip {
    <#
    New-KataCgroup $Path with $Parameters, then New-KcCopyFromExport on $CopyPath; returns the export (Json,
    Warnings), both cgroups, the source's files and the file differences (empty when equal).
    #>
    param([string] $Path, [string] $CopyPath, [hashtable] $Parameters)
    $source = New-KataCgroup -Path $Path @Parameters -WarningAction SilentlyContinue -ErrorAction Stop
    $export = New-KcCopyFromExport $Path $CopyPath
    [pscustomobject]@{
        Json = $export.Json
        Warnings = $export.Warnings
        Source = $source
        Copy = $export.Copy
        Files = Get-KcCgroupFileSet $source.CgroupPath
        Diffs = Compare-KcCgroupFile $source.CgroupPath $export.Copy.CgroupPath
    }
}

Export-ModuleMember -Function Get-KcCgroupFileSet, Compare-KcCgroupFile, New-KcCopyFromExport, Invoke-KcExportRoundTrip
