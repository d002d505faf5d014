<#
The release path behind `build.ps1 Package`: the built module layout (out/KataCgroups/) becomes a NuGet
package that PSResourceGet's Install-PSResource installs, with the release notes of CHANGELOG.md in its
manifest and the license as a file and as package metadata.

build.ps1 calls Set-KcManifestReleaseNote on every build (so the built module and the package carry the same
manifest) and New-KcModulePackage for Package; tests/Pester/Package.Tests.ps1 calls the same functions.
#>
Set-StrictMode -Version Latest

# The license the manifest's Copyright names, as an SPDX expression for the package metadata.
$script:LicenseExpression = 'Apache-2.0'

function Get-KcChangelogSection {
    <#
    .SYNOPSIS
        The sections of a Keep a Changelog file: one object per '## [version]' heading, in file order.
    .DESCRIPTION
        Each object has Version (the text between the brackets: 'Unreleased' or a semantic version), Date (the
        'YYYY-MM-DD' after the heading's dash, or $null) and Text (the section's lines up to the next '## '
        heading, trimmed). Link reference lines ('[0.1.0]: https://...') at the end of the file are not part of
        any section.
    #>
    param([Parameter(Mandatory)] [string] $Path)
    $sections = [System.Collections.Generic.List[object]]::new()
    $current = $null
    foreach ($line in [System.IO.File]::ReadAllLines($Path)) {
        if ($line -match '^## \[(?<version>[^\]]+)\](?:\s+-\s+(?<date>\S+))?\s*$') {
            $current = [pscustomobject]@{ Version = $Matches.version; Date = $Matches['date']; Lines = [System.Collections.Generic.List[string]]::new() }
            $sections.Add($current)
        }
        elseif ($line -match '^## ') { throw "$Path has a '## ' heading without a [version]: $line" }
        elseif ($current -and $line -notmatch '^\[[^\]]+\]:\s') { $current.Lines.Add($line) }
    }
    foreach ($s in $sections) {
        [pscustomobject]@{ Version = $s.Version; Date = $s.Date; Text = ($s.Lines -join "`n").Trim() }
    }
}

function Get-KcReleaseNote {
    <#
    .SYNOPSIS
        The changelog's section for one version: what the package of that version says it brings.
    #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Version)
    $section = @(Get-KcChangelogSection -Path $Path | Where-Object Version -EQ $Version)
    if ($section.Count -ne 1) { throw "$Path has $($section.Count) sections '## [$Version] - <date>' (the manifest's ModuleVersion): expected one" }
    if (-not $section[0].Text) { throw "the section of $Version in $Path is empty" }
    $section[0].Text
}

function Set-KcManifestReleaseNote {
    <#
    .SYNOPSIS
        Writes ReleaseNotes into PrivateData.PSData of a (built) manifest, and checks that it reads back as given.
    .DESCRIPTION
        The text goes in as a single-quoted literal; PowerShell also ends such a literal at the typographic
        single quotes (U+2018 to U+201B), so those are doubled as well. The source manifest keeps no copy:
        CHANGELOG.md is the one place the notes are written.
    #>
    param([Parameter(Mandatory)] [string] $ManifestPath, [Parameter(Mandatory)] [string] $ReleaseNote)
    $text = [System.IO.File]::ReadAllText($ManifestPath)
    if ($text -match '(?m)^\s*ReleaseNotes\s*=') { throw "$ManifestPath already has ReleaseNotes: they come from CHANGELOG.md" }
    $literal = "'" + ($ReleaseNote -replace "['\u2018\u2019\u201A\u201B]", '$0$0') + "'"
    $pattern = [regex] '(?m)^(?<indent>[ \t]*)PSData\s*=\s*@\{[ \t]*\r?$'
    $match = $pattern.Match($text)
    if (-not $match.Success) { throw "$ManifestPath has no 'PSData = @{' line to put the release notes in" }
    $indent = $match.Groups['indent'].Value
    $text = $text.Insert($match.Index + $match.Length, "`n$indent    ReleaseNotes = $literal")
    [System.IO.File]::WriteAllText($ManifestPath, $text, [System.Text.UTF8Encoding]::new($false))
    $read = (Import-PowerShellDataFile -LiteralPath $ManifestPath).PrivateData.PSData.ReleaseNotes
    if ($read -ne $ReleaseNote) { throw "the release notes written to $ManifestPath do not read back as given" }
}

function New-KcModulePackage {
    <#
    .SYNOPSIS
        Packs a module directory (the built layout) into <DestinationPath>/<Name>.<ModuleVersion>.nupkg.
    .DESCRIPTION
        Compress-PSResource (PSResourceGet, shipped with PowerShell 7.4+) makes the package from the manifest
        and every file of the directory, so what Install-PSResource lays out is the built module as it is.
        The manifest has no field for a license expression (only LicenseUri, and the module has no URL to
        give), so the nuspec gets <license type="expression"> here; the LICENSE file travels in the package
        as part of the module. Returns the package file.
    #>
    param([Parameter(Mandatory)] [string] $ModuleDirectory, [Parameter(Mandatory)] [string] $DestinationPath)
    $manifest = @(Get-ChildItem -LiteralPath $ModuleDirectory -Filter *.psd1 -File)
    if ($manifest.Count -ne 1) { throw "$ModuleDirectory must hold exactly one manifest (found $($manifest.Count))" }
    if (-not (Test-Path -LiteralPath (Join-Path $ModuleDirectory 'LICENSE'))) { throw "$ModuleDirectory has no LICENSE file" }
    $data = Import-PowerShellDataFile -LiteralPath $manifest[0].FullName
    $name = $manifest[0].BaseName
    $null = New-Item -ItemType Directory -Force -Path $DestinationPath
    $file = Join-Path $DestinationPath "$name.$($data.ModuleVersion).nupkg"
    Remove-Item -LiteralPath $file -ErrorAction Ignore
    Compress-PSResource -Path $ModuleDirectory -DestinationPath $DestinationPath -ErrorAction Stop
    if (-not (Test-Path -LiteralPath $file)) { throw "Compress-PSResource did not write $file" }
    Add-KcNuspecLicense -PackagePath $file -Expression $script:LicenseExpression
    Get-Item -LiteralPath $file
}

function Add-KcNuspecLicense {
    # Rewrites the package's nuspec in place with <license type="expression"> after <requireLicenseAcceptance>.
    param([Parameter(Mandatory)] [string] $PackagePath, [Parameter(Mandatory)] [string] $Expression)
    $zip = [System.IO.Compression.ZipFile]::Open($PackagePath, [System.IO.Compression.ZipArchiveMode]::Update)
    try {
        $entry = @($zip.Entries | Where-Object { $_.FullName -notmatch '/' -and $_.Name -like '*.nuspec' })
        if ($entry.Count -ne 1) { throw "$PackagePath has $($entry.Count) nuspec files at its root" }
        $reader = [System.IO.StreamReader]::new($entry[0].Open())
        try { $xml = [xml] $reader.ReadToEnd() } finally { $reader.Dispose() }
        $metadata = $xml.package.metadata
        $license = $xml.CreateElement('license', $xml.DocumentElement.NamespaceURI)
        $license.SetAttribute('type', 'expression')
        $license.InnerText = $Expression
        $null = $metadata.InsertAfter($license, $metadata['requireLicenseAcceptance'])
        $name = $entry[0].FullName
        $entry[0].Delete()
        $writer = [System.IO.StreamWriter]::new($zip.CreateEntry($name).Open(), [System.Text.UTF8Encoding]::new($false))
        try { $xml.Save($writer) } finally { $writer.Dispose() }
    }
    finally { $zip.Dispose() }
}

Export-ModuleMember -Function Get-KcChangelogSection, Get-KcReleaseNote, Set-KcManifestReleaseNote, New-KcModulePackage
