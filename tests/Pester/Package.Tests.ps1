# The release path as a user takes it: the built module packed the way `build.ps1 Package` packs it
# (tools/Package), published into a file-system repository registered for the test, installed by
# Install-PSResource and imported BY NAME in a new pwsh. Nothing in this file touches cgroups.
#
# Every PSResourceGet call runs in a child pwsh whose HOME (and XDG_DATA_HOME) is a temp directory: PSResourceGet
# keeps its repository list under the data directory and installs -Scope CurrentUser modules under
# ~/.local/share/powershell/Modules, so the test's repository and installation stay out of the user's own list
# (PSGallery and the rest are never changed) and out of the user's module path. The repository is unregistered
# and the temp directory removed in AfterAll, also after a failure.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $PackageTool = Join-Path $Root 'tools/Package/KataCgroups.Package.psm1'
    Import-Module $PackageTool -Force
    $ModulePath = Get-KcModulePath
    $ModuleDir = Split-Path $ModulePath
    $Version = (Import-PowerShellDataFile -LiteralPath $ModulePath).ModuleVersion

    $Work = Join-Path ([System.IO.Path]::GetTempPath()) ('kctest-package-' + [guid]::NewGuid().ToString('n').Substring(0, 10))
    $global:KcTestState.AllTempDirs.Add($Work)
    $UserHome = Join-Path $Work 'home'
    $Feed = Join-Path $Work 'repository'
    $Out = Join-Path $Work 'out'
    # .NET answers '' for a data or config folder that does not exist, and PSResourceGet would then keep its
    # repository list relative to the working directory: the folders are made first.
    $DataHome = Join-Path $UserHome '.local/share'
    $ConfigHome = Join-Path $UserHome '.config'
    $CacheHome = Join-Path $UserHome '.cache'
    $null = New-Item -ItemType Directory -Path $UserHome, $DataHome, $ConfigHome, $CacheHome, $Feed, $Out
    $RepositoryName = 'KcTestLocal-' + [guid]::NewGuid().ToString('n').Substring(0, 10)
    $InstallRoot = Join-Path $DataHome 'powershell/Modules'
    $PrivateStore = Join-Path $DataHome 'PSResourceGet/PSResourceRepository.xml'

    # A child pwsh with the private HOME; $Environment adds variables. Returns its stdout (the last line is the
    # JSON the command printed); throws with stderr when it fails. The wait is bounded so a hung child (a
    # repository lookup that never answers) fails the test instead of the run; it is killed by its PID.
    function Invoke-IsolatedPwsh([string] $Command, [hashtable] $Environment = @{}) {
        $psi = New-KcPwshStartInfo "`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'; $Command"
        $psi.WorkingDirectory = $Work
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.Environment['HOME'] = $UserHome
        $psi.Environment['XDG_DATA_HOME'] = $DataHome
        $psi.Environment['XDG_CONFIG_HOME'] = $ConfigHome
        $psi.Environment['XDG_CACHE_HOME'] = $CacheHome
        $psi.Environment['TMPDIR'] = $Work
        $psi.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
        foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string] $Environment[$k] }
        $p = [System.Diagnostics.Process]::Start($psi)
        try {
            $stderr = $p.StandardError.ReadToEndAsync()
            $stdout = $p.StandardOutput.ReadToEndAsync()
            if (-not $p.WaitForExit(300000)) { $p.Kill($true); $p.WaitForExit(); throw "the child pwsh did not finish within 300 s: $Command" }
            $p.WaitForExit()
            if ($p.ExitCode -ne 0) { throw "the child pwsh failed (exit code $($p.ExitCode)): $($stderr.Result)$($stdout.Result)" }
            $stdout.Result
        }
        finally { $p.Dispose() }
    }
    function ConvertFrom-LastJsonLine([string] $Text) {
        ($Text -split "`n" | Where-Object { $_.Trim() } | Select-Object -Last 1) | ConvertFrom-Json
    }

    # Pack, register, publish, install: each step as a user runs it.
    $installed = ConvertFrom-LastJsonLine (Invoke-IsolatedPwsh @"
Import-Module '$PackageTool'
`$package = New-KcModulePackage -ModuleDirectory '$ModuleDir' -DestinationPath '$Out'
Register-PSResourceRepository -Name '$RepositoryName' -Uri '$Feed' -Trusted
Publish-PSResource -NupkgPath `$package.FullName -Repository '$RepositoryName'
`$found = Find-PSResource -Name KataCgroups -Repository '$RepositoryName'
`$r = Install-PSResource -Name KataCgroups -Repository '$RepositoryName' -Scope CurrentUser -TrustRepository -PassThru
@{ Package = `$package.FullName; Published = @(Get-ChildItem '$Feed' | ForEach-Object Name)
   FoundVersion = "`$(`$found.Version)"; Name = `$r.Name; Version = "`$(`$r.Version)"; InstalledLocation = `$r.InstalledLocation
   Repositories = @(Get-PSResourceRepository | ForEach-Object Name) } | ConvertTo-Json -Compress
"@)
    $Package = $installed.Package
}

AfterAll {
    try {
        $null = Invoke-IsolatedPwsh "if (Get-PSResourceRepository -Name '$RepositoryName' -ErrorAction Ignore) { Unregister-PSResourceRepository -Name '$RepositoryName' }"
        if (Test-Path -LiteralPath $PrivateStore) { [System.IO.File]::ReadAllText($PrivateStore) | Should -Not -Match $RepositoryName }
    }
    finally {
        Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction Ignore
    }
}

Describe 'build.ps1 Package' {
    It 'writes KataCgroups.ModuleVersion.nupkg with every file of the built layout, the LICENSE among them' {
        Split-Path -Leaf $Package | Should -Be "KataCgroups.$Version.nupkg"
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Package)
        try { $entries = @($zip.Entries | ForEach-Object FullName) }
        finally { $zip.Dispose() }
        $layout = @(Get-ChildItem -LiteralPath $ModuleDir -Recurse -File | ForEach-Object { [System.IO.Path]::GetRelativePath($ModuleDir, $_.FullName) })
        foreach ($f in $layout) { $entries | Should -Contain $f -Because "the built module has $f" }
        $entries | Should -Contain 'LICENSE'
        $entries | Should -Contain 'KataCgroups.psd1'
        $entries | Should -Contain 'Dependencies/KataCgroups.dll'
        $entries | Should -Contain 'en-US/KataCgroups.PowerShell.dll-Help.xml'
        $entries | Should -Contain 'KataCgroups.Format.ps1xml'
    }

    It 'has package metadata without a placeholder URL, the Apache-2.0 license and the changelog''s release notes' {
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Package)
        try {
            $reader = [System.IO.StreamReader]::new($zip.GetEntry('KataCgroups.nuspec').Open())
            try { [xml] $nuspec = $reader.ReadToEnd() } finally { $reader.Dispose() }
        }
        finally { $zip.Dispose() }
        $m = $nuspec.package.metadata
        $m.id | Should -Be 'KataCgroups'
        $m.version | Should -Be $Version
        $m.license.type | Should -Be 'expression'
        $m.license.'#text' | Should -Be 'Apache-2.0'
        $m.releaseNotes | Should -Be (Get-KcReleaseNote -Path (Join-Path $Root 'CHANGELOG.md') -Version $Version)
        $nuspec.OuterXml | Should -Not -Match 'example\.(invalid|com|org)'
    }
}

Describe 'Install-PSResource from a file-system repository' {
    It 'finds the published package and installs it by name into the private module path' {
        $installed.Published | Should -Be "KataCgroups.$Version.nupkg"
        $installed.FoundVersion | Should -Be $Version
        $installed.Name | Should -Be 'KataCgroups'
        $installed.Version | Should -Be $Version
        $installed.InstalledLocation | Should -Be $InstallRoot
        Test-Path -LiteralPath (Join-Path $InstallRoot "KataCgroups/$Version/KataCgroups.psd1") | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $InstallRoot "KataCgroups/$Version/LICENSE") | Should -BeTrue
        $installed.Repositories | Should -Contain $RepositoryName
        [System.IO.File]::ReadAllText($PrivateStore) | Should -Match $RepositoryName -Because 'the repository is registered in the private list only'
    }

    It 'imports by name in a new pwsh whose PSModulePath is that path, and runs its commands with their help' {
        $r = ConvertFrom-LastJsonLine (Invoke-IsolatedPwsh -Environment @{ PSModulePath = $InstallRoot } @'
Import-Module KataCgroups
$m = Get-Module KataCgroups
$paths = @(Get-KataCgroupPath -Path /kubepods/pod1/sandbox1)
$quiet = Test-KataCgroupHost -Quiet
@{ ModuleBase = $m.ModuleBase; Version = "$($m.Version)"; Commands = @(Get-Command -Module KataCgroups | ForEach-Object Name)
   ReleaseNotes = $m.ReleaseNotes; CgroupPaths = @($paths | ForEach-Object CgroupPath | Select-Object -Unique)
   QuietType = $quiet.GetType().FullName; Synopsis = (Get-Help New-KataCgroup).Synopsis } | ConvertTo-Json -Compress
'@)
        $r.ModuleBase | Should -Be (Join-Path $InstallRoot "KataCgroups/$Version")
        $r.Version | Should -Be $Version
        $r.Commands | Sort-Object | Should -Be @((Import-PowerShellDataFile -LiteralPath $ModulePath).CmdletsToExport | Sort-Object)
        $r.CgroupPaths | Should -Be '/kubepods/pod1/kata_sandbox1'
        $r.QuietType | Should -Be 'System.Boolean'
        $r.Synopsis | Should -Not -Match '^\s*New-KataCgroup\b' -Because 'the installed module ships its compiled help'
        $r.ReleaseNotes | Should -Be (Get-KcReleaseNote -Path (Join-Path $Root 'CHANGELOG.md') -Version $Version)
    }
}

Describe 'Release metadata in the repository' {
    It 'the manifest carries no placeholder URL and no URL without a real value' {
        $data = Import-PowerShellDataFile -LiteralPath (Join-Path $Root 'KataCgroups.psd1')
        $data.PrivateData.PSData.Keys | Should -Not -Contain 'ProjectUri'
        [System.IO.File]::ReadAllText((Join-Path $Root 'KataCgroups.psd1')) | Should -Not -Match 'example\.(invalid|com|org)'
    }

    It 'CHANGELOG.md is Keep a Changelog: Unreleased first, then semantic versions with dates, newest first, one for ModuleVersion' {
        $sections = @(Get-KcChangelogSection -Path (Join-Path $Root 'CHANGELOG.md'))
        $sections[0].Version | Should -Be 'Unreleased'
        $released = @($sections | Select-Object -Skip 1)
        $released.Count | Should -BeGreaterThan 0
        $semver = '^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$'
        foreach ($s in $released) {
            $s.Version | Should -Match $semver
            $s.Date | Should -Match '^\d{4}-\d{2}-\d{2}$' -Because "version $($s.Version) needs its release date"
            $s.Text | Should -Match '(?m)^### (Added|Changed|Deprecated|Removed|Fixed|Security)$' -Because "version $($s.Version) groups its changes"
        }
        $versions = @($released | ForEach-Object { [version] ($_.Version -replace '-.*$') })
        $versions | Should -Be @($versions | Sort-Object -Descending -Unique)
        $released.Version | Should -Contain $Version
    }

    It 'LICENSE is the full Apache License 2.0 text, the license the manifest names' {
        $text = [System.IO.File]::ReadAllText((Join-Path $Root 'LICENSE'))
        $text | Should -Match 'Apache License\s+Version 2\.0, January 2004'
        $text | Should -Match 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION'
        $text | Should -Match 'END OF TERMS AND CONDITIONS'
        $text | Should -Match 'APPENDIX: How to apply the Apache License to your work'
        (Import-PowerShellDataFile -LiteralPath (Join-Path $Root 'KataCgroups.psd1')).Copyright | Should -Match 'Apache-2\.0'
    }
}
