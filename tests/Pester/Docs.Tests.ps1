# Docs that cannot drift: what a user reads must name everything the module has. The expectations come from
# the module itself, never from a list kept here: the cmdlets and their parameters from Get-Command on the
# built module, the error ids from the one list the code takes them from (KataCgroups.Errors.ErrorIds, read
# from the engine assembly the module loaded), and the source is checked so that no error id bypasses that
# list. Nothing in this file touches cgroups.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $Commands = Get-KcCommandCase
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-KcModulePath) -Force
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $Docs = Join-Path $Root 'docs/help'
    $Readme = [System.IO.File]::ReadAllText((Join-Path $Root 'README.md'))
    $About = [System.IO.File]::ReadAllText((Join-Path $Docs 'about_KataCgroups.md'))
    $Exported = @(Get-Command -Module KataCgroups | ForEach-Object Name)

    # The first cell of every markdown table row that is one `code` span: `New-KataCgroup`, `CgroupNotFound`.
    function Get-TableKey([string] $Text) {
        @([regex]::Matches($Text, '(?m)^\|\s*`([^`|]+)`\s*\|') | ForEach-Object { $_.Groups[1].Value })
    }
    # A markdown section: from its heading line to the next heading of the same or a higher level.
    function Get-Section([string] $Text, [string] $Heading) {
        $level = ($Heading -split ' ')[0]
        $m = [regex]::Match($Text, '(?ms)^' + [regex]::Escape($Heading) + '[ \t]*$(.*?)(?=^#{1,' + $level.Length + '} |\z)')
        if (-not $m.Success) { throw "no section '$Heading'" }
        $m.Groups[1].Value
    }
    $ErrorTable = Get-TableKey (Get-Section $About '### Error ids')

    # The ids the code declares: the constants of ErrorIds in the engine assembly the module loaded (it loads
    # into the module's own AssemblyLoadContext on first use, which Get-KataCgroupPath makes).
    $null = Get-KataCgroupPath -Path /kctest-docs/probe
    $engine = @([System.Runtime.Loader.AssemblyLoadContext]::All | ForEach-Object Assemblies |
        Where-Object { $_.GetName().Name -eq 'KataCgroups' -and $_.Location -like "$(Split-Path (Get-KcModulePath))*" })
    if ($engine.Count -eq 0) { throw 'the module did not load its engine assembly (KataCgroups.dll)' }
    $constants = @($engine[0].GetType('KataCgroups.Errors.ErrorIds', $true).GetFields() | Where-Object { $_.IsLiteral -and $_.FieldType -eq [string] })
    $ErrorIds = @($constants | ForEach-Object { $_.GetRawConstantValue() })
    $ErrorIdNames = @($constants | ForEach-Object Name)

    # The source as syntax trees (Roslyn ships with PowerShell for Add-Type).
    Add-Type -AssemblyName Microsoft.CodeAnalysis, Microsoft.CodeAnalysis.CSharp
    $Sources = @(Get-ChildItem (Join-Path $Root 'src') -Recurse -Filter *.cs | Where-Object FullName -NotMatch '/(bin|obj)/' | ForEach-Object {
        [pscustomobject]@{
            File = [System.IO.Path]::GetRelativePath($Root, $_.FullName)
            Tree = [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree]::ParseText([System.IO.File]::ReadAllText($_.FullName))
        }
    })
}

Describe 'Cmdlet <Name> in the docs' -ForEach $Commands {
    BeforeAll {
        $Page = Join-Path $Docs "$Name.md"
        $Parameters = @((Get-Command $Name).Parameters.Values | Where-Object Name -NotIn ([System.Management.Automation.PSCmdlet]::CommonParameters) | ForEach-Object Name)
    }

    It 'has a row in the cmdlet table of README.md' {
        Get-TableKey $Readme | Should -Contain $Name
    }

    It 'has a row in the cmdlet table of about_KataCgroups and a link under SEE ALSO' {
        Get-TableKey $About | Should -Contain $Name
        Get-Section $About '## SEE ALSO' | Should -Match "\[$Name\]\($Name\.md\)"
    }

    It 'has its help page, with a section for each of its parameters and none for a parameter it lacks' {
        Test-Path -LiteralPath $Page | Should -BeTrue -Because "docs/help/$Name.md is its help page"
        $text = [System.IO.File]::ReadAllText($Page)
        $sections = @([regex]::Matches((Get-Section $text '## PARAMETERS'), '(?m)^### -(\w+)\s*$') | ForEach-Object { $_.Groups[1].Value })
        foreach ($p in $Parameters) { $sections | Should -Contain $p -Because "-$p of $Name needs its section in $Name.md" }
        foreach ($s in $sections) { $Parameters | Should -Contain $s -Because "$Name.md documents -$s" }
    }
}

Describe 'The cmdlet tables' {
    It 'name no cmdlet the module does not export (README.md and about_KataCgroups)' {
        $named = @(Get-TableKey $Readme) + @(Get-TableKey $About) | Where-Object { $_ -match '^[A-Z][a-z]+-KataCgroup\w*$' }
        $named.Count | Should -BeGreaterThan 0
        foreach ($n in $named) { $Exported | Should -Contain $n -Because "the docs list $n" }
    }
}

Describe 'Error ids in about_KataCgroups' {
    It 'the module declares error ids (ErrorIds, read from its engine)' {
        $ErrorIds.Count | Should -BeGreaterThan 10
        $ErrorIds | Should -Contain 'CgroupNotFound'
    }

    It 'has a row for every id the module declares' {
        $missing = @($ErrorIds | Where-Object { $_ -notin $ErrorTable })
        $missing | Should -BeNullOrEmpty -Because 'every error id needs its row (category, when) in the Error ids table'
    }

    It 'has no row for an id the module does not declare' {
        @($ErrorTable | Where-Object { $_ -notin $ErrorIds }) | Should -BeNullOrEmpty
    }
}

Describe 'Error ids in the source' {
    It 'come only from ErrorIds: no ErrorRecord or CgroupException gets its id as a string literal' {
        # The id arguments: new ErrorRecord(exception, ID, category, target), new(exception, ID, ErrorCategory.X,
        # target), new CgroupException(ID, ...), ErrorRecords.Invalid(ID, ...). A literal there would be an id the
        # list above cannot see, so it would go undocumented.
        $literals = foreach ($s in $Sources) {
            foreach ($node in $s.Tree.GetRoot().DescendantNodes()) {
                $id = $null
                $arguments = if (($node -is [Microsoft.CodeAnalysis.CSharp.Syntax.BaseObjectCreationExpressionSyntax] -or
                        $node -is [Microsoft.CodeAnalysis.CSharp.Syntax.InvocationExpressionSyntax]) -and $node.ArgumentList) { $node.ArgumentList.Arguments }
                if ($null -eq $arguments) { continue }
                if ($node -is [Microsoft.CodeAnalysis.CSharp.Syntax.ObjectCreationExpressionSyntax]) {
                    $type = ($node.Type.ToString() -split '\.')[-1]
                    if ($type -eq 'ErrorRecord' -and $arguments.Count -ge 2) { $id = $arguments[1] }
                    elseif ($type -eq 'CgroupException' -and $arguments.Count -ge 1) { $id = $arguments[0] }
                }
                elseif ($node -is [Microsoft.CodeAnalysis.CSharp.Syntax.ImplicitObjectCreationExpressionSyntax]) {
                    for ($i = 1; $i -lt $arguments.Count; $i++) {
                        if ($arguments[$i].ToString() -like 'ErrorCategory.*') { $id = $arguments[$i - 1] }
                    }
                }
                elseif ($node.Expression.ToString() -eq 'ErrorRecords.Invalid' -and $arguments.Count -ge 1) { $id = $arguments[0] }
                if ($id -and @($id.DescendantNodesAndSelf() | Where-Object {
                            $_ -is [Microsoft.CodeAnalysis.CSharp.Syntax.LiteralExpressionSyntax] -or
                            $_ -is [Microsoft.CodeAnalysis.CSharp.Syntax.InterpolatedStringExpressionSyntax] }).Count) {
                    "$($s.File):$($node.GetLocation().GetLineSpan().StartLinePosition.Line + 1): $id"
                }
            }
        }
        @($literals) | Should -BeNullOrEmpty -Because 'an error id is a constant of KataCgroups.Errors.ErrorIds (src/KataCgroups/Errors)'
    }

    It 'every declared id is raised somewhere (a use of its ErrorIds constant outside the declaration)' {
        $used = @(foreach ($s in $Sources) {
                if ($s.File -like '*Errors*CgroupException.cs') { continue }
                foreach ($node in $s.Tree.GetRoot().DescendantNodes()) {
                    if ($node -is [Microsoft.CodeAnalysis.CSharp.Syntax.MemberAccessExpressionSyntax] -and $node.Expression.ToString() -eq 'ErrorIds') {
                        $node.Name.ToString()
                    }
                }
            }) | Sort-Object -Unique
        $used.Count | Should -BeGreaterThan 0
        @($ErrorIdNames | Where-Object { $_ -notin $used }) | Should -BeNullOrEmpty -Because 'an id nothing raises is documented for nothing: remove it'
    }
}
