# The repository as a contributor meets it: `dotnet build` at the root builds every C# project through the
# solution, and the code files keep the whitespace rules .editorconfig states. Nothing here touches cgroups.

BeforeAll {
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    # Source files of the checkout: build output, the built module and copied kernel files (test fixtures) are not.
    function Get-RepositoryFile([string[]] $Include) {
        Get-ChildItem -LiteralPath $Root -Recurse -File -Include $Include |
            Where-Object { [System.IO.Path]::GetRelativePath($Root, $_.FullName) -notmatch '(^|/)(bin|obj|out|TestResults|\.git|Fixtures)/' }
    }
}

Describe 'The solution' {
    It 'is the only solution at the root (what dotnet build there picks) and lists every C# project' {
        $solutions = @(Get-ChildItem -LiteralPath $Root -File | Where-Object Extension -In '.sln', '.slnx')
        $solutions.Name | Should -Be 'KataCgroups.slnx'
        [xml] $slnx = [System.IO.File]::ReadAllText($solutions[0].FullName)
        $listed = @($slnx.SelectNodes('//Project') | ForEach-Object { $_.Path -replace '\\', '/' } | Sort-Object)
        $projects = @(Get-RepositoryFile '*.csproj' | ForEach-Object { [System.IO.Path]::GetRelativePath($Root, $_.FullName) } | Sort-Object)
        $projects | Should -Contain 'src/KataCgroups/KataCgroups.csproj'
        $projects | Should -Contain 'tests/Unit/KataCgroups.Tests.csproj'
        $listed | Should -Be $projects
    }
}

Describe '.editorconfig' {
    It 'is the root configuration' {
        [System.IO.File]::ReadAllLines((Join-Path $Root '.editorconfig')) | Should -Contain 'root = true'
    }

    It 'holds for the code files: LF line ends, spaces (tabs only in Go), no trailing blanks, one final newline' {
        $problems = foreach ($f in Get-RepositoryFile '*.cs', '*.ps1', '*.psm1', '*.psd1', '*.sh', '*.c', '*.go', '*.csproj', '*.props', '*.slnx', '*.ps1xml') {
            $text = [System.IO.File]::ReadAllText($f.FullName)
            $name = [System.IO.Path]::GetRelativePath($Root, $f.FullName)
            if ($text.Contains("`r")) { "$name`: CR line ends" }
            if ($f.Extension -ne '.go' -and $text -match '(?m)^ *\t') { "$name`: tab indentation" }
            if ($text -match '(?m)[ \t]+$') { "$name`: trailing blanks" }
            if ($text.Length -and -not $text.EndsWith("`n")) { "$name`: no final newline" }
            if ($text.EndsWith("`n`n")) { "$name`: blank lines at the end" }
        }
        @($problems) | Should -BeNullOrEmpty
    }
}
