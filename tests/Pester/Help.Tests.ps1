# Help as a user gets it: Get-Help on the BUILT module, which must ship the MAML and the about topic that
# build.ps1 compiles from docs/help (tools/Help). The metadata checks compare Get-Help with Get-Command, so a
# cmdlet change that the help did not follow fails here too. Nothing in this file touches cgroups.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $Commands = Get-KcCommandCase
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $ModulePath = Get-KcModulePath
    Import-Module $ModulePath -Force
    $Common = [System.Management.Automation.PSCmdlet]::CommonParameters
    $EnUs = Join-Path (Split-Path $ModulePath) 'en-US'

    # Get-Help's spelling of pipeline input, derived here on its own rather than borrowed from the compiler.
    function Get-ExpectedPipelineInput($Parameter) {
        $how = @(if ($Parameter.ValueFromPipeline) { 'ByValue' }; if ($Parameter.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
        if ($how) { "True ($($how -join ', '))" } else { 'False' }
    }
    function Get-ExpectedPosition($Parameter) {
        if ($Parameter.Position -ge 0) { "$($Parameter.Position)" } else { 'named' }
    }
}

Describe 'Get-Help <Name>' -ForEach $Commands {
    BeforeAll {
        $Help = Get-Help $Name -Full
        $Command = Get-Command $Name
        $Parameters = @($Command.Parameters.Values | Where-Object Name -NotIn $Common)
    }

    It 'comes from the compiled MAML, with a synopsis written for it (not the syntax stub)' {
        # Without help, PowerShell makes the synopsis out of the syntax line, which starts with the name.
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        $Help.Synopsis | Should -Not -Match "^\s*$([regex]::Escape($Name))\b"
        $Help.Synopsis.Length | Should -BeGreaterThan 20
    }

    It 'has a description' {
        (@($Help.description | ForEach-Object Text) -join '').Trim() | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter (WhatIf and Confirm included), and no parameter the command lacks' {
        $documented = @($Help.parameters.parameter | ForEach-Object name)
        foreach ($p in $Parameters) {
            $documented | Should -Contain $p.Name -Because "-$($p.Name) must have help"
            $h = $Help.parameters.parameter | Where-Object name -EQ $p.Name
            (@($h.description | ForEach-Object Text) -join '').Trim() | Should -Not -BeNullOrEmpty -Because "-$($p.Name) needs a description"
        }
        foreach ($d in $documented) { $Parameters.Name | Should -Contain $d -Because "the help documents -$d" }
    }

    It 'gives each parameter the metadata Get-Command has (type, mandatory, position, pipeline input)' {
        foreach ($p in $Parameters) {
            $h = $Help.parameters.parameter | Where-Object name -EQ $p.Name
            $inSets = @($p.ParameterSets.Values)
            $h.required | Should -Be "$([bool]($inSets | Where-Object IsMandatory))".ToLowerInvariant() -Because "-$($p.Name) Required"
            $h.position | Should -Be (Get-ExpectedPosition $inSets[0]) -Because "-$($p.Name) Position"
            $h.pipelineInput | Should -Be (Get-ExpectedPipelineInput $inSets[0]) -Because "-$($p.Name) pipeline input"
            $h.type.name | Should -Be $p.ParameterType.FullName -Because "-$($p.Name) type"
        }
    }

    It 'has one syntax item per parameter set, each with that set''s parameters and metadata' {
        $items = @($Help.syntax.syntaxItem)
        $items.Count | Should -Be $Command.ParameterSets.Count
        foreach ($set in $Command.ParameterSets) {
            $names = @($set.Parameters | Where-Object Name -NotIn $Common | ForEach-Object Name)
            $item = @($items | Where-Object { -not (Compare-Object $names @($_.parameter | ForEach-Object name)) })
            $item.Count | Should -Be 1 -Because "set '$($set.Name)' ($($names -join ', ')) needs its syntax item"
            foreach ($p in $set.Parameters | Where-Object Name -NotIn $Common) {
                $h = $item[0].parameter | Where-Object name -EQ $p.Name
                $h.required | Should -Be "$($p.IsMandatory)".ToLowerInvariant() -Because "-$($p.Name) in set $($set.Name)"
                $h.position | Should -Be (Get-ExpectedPosition $p) -Because "-$($p.Name) in set $($set.Name)"
                $h.pipelineInput | Should -Be (Get-ExpectedPipelineInput $p) -Because "-$($p.Name) in set $($set.Name)"
            }
        }
    }

    It 'lists the accepted values of enum parameters' {
        foreach ($p in $Parameters | Where-Object { $_.ParameterType.IsEnum }) {
            $h = $Help.syntax.syntaxItem[0].parameter | Where-Object name -EQ $p.Name
            @($h.parameterValueGroup.parameterValue) | Should -Be ([Enum]::GetNames($p.ParameterType))
        }
    }

    It 'has at least two examples, each with code and remarks' {
        $examples = @($Help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($e in $examples) {
            $e.code | Should -Match '^PS> ' -Because "$($e.title) starts at a prompt"
            (@($e.remarks | ForEach-Object Text) -join '').Trim() | Should -Not -BeNullOrEmpty -Because "$($e.title) needs remarks"
        }
    }

    It 'renders the examples with Get-Help -Examples' {
        $text = Get-Help $Name -Examples | Out-String -Width 250
        foreach ($e in @($Help.examples.example)) {
            $title = ($e.title -replace '^-+\s*|\s*-+$').Trim()
            $text | Should -BeLike "*$title*"
        }
        $text | Should -BeLike "*PS> $Name*"
    }

    It 'has inputs, outputs (every declared [OutputType]) and notes' {
        @($Help.inputTypes.inputType).Count | Should -BeGreaterThan 0
        $outputs = @($Help.returnValues.returnValue | ForEach-Object { $_.type.name })
        foreach ($t in $Command.OutputType) {
            $outputs | Should -Contain $(if ($t.Type -eq [void]) { 'None' } else { $t.Type.FullName })
        }
        (@($Help.alertSet.alert | ForEach-Object Text) -join '') | Should -Match 'Rootless'
        (@($Help.alertSet.alert | ForEach-Object Text) -join '') | Should -Match 'systemd'
    }
}

Describe 'about_KataCgroups' {
    It 'is found by Get-Help' {
        $topic = Get-Help about_KataCgroups
        ($topic | Out-String) | Should -Match 'SHORT DESCRIPTION'
    }

    It 'is plain text in the conventional layout, wrapped at 80 columns' {
        $lines = [System.IO.File]::ReadAllLines((Join-Path $EnUs 'about_KataCgroups.help.txt'))
        $lines[0..1] | Should -Be 'TOPIC', '    about_KataCgroups'
        $lines | Should -Contain 'SHORT DESCRIPTION'
        $lines | Should -Contain 'LONG DESCRIPTION'
        @($lines | Where-Object Length -GT 80) | Should -BeNullOrEmpty
        ($lines -join "`n") | Should -Not -Match '\*\*|\]\('   # no markdown bold or links left
    }
}

Describe 'The MAML help file' {
    It 'is well-formed XML with one command per exported cmdlet' {
        $file = Join-Path $EnUs 'KataCgroups.PowerShell.dll-Help.xml'
        $doc = [System.Xml.XmlDocument]::new()
        { $doc.Load($file) } | Should -Not -Throw
        $ns = [System.Xml.XmlNamespaceManager]::new($doc.NameTable)
        $ns.AddNamespace('command', 'http://schemas.microsoft.com/maml/dev/command/2004/10')
        $names = @($doc.SelectNodes('//command:command/command:details/command:name', $ns) | ForEach-Object InnerText)
        $names | Sort-Object | Should -Be @((Get-Command -Module KataCgroups).Name | Sort-Object)
    }
}

Describe 'The help compiler (tools/Help) on a fixture page' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot '../../tools/Help/KataCgroups.Help.psm1') -Force
        $Page = Join-Path $PSScriptRoot 'Fixtures/Help/Get-KcFixture.md'
        # The same command three ways, as the module would be before and after a change; New-Module keeps
        # them in memory (no files).
        function Get-FixtureMetadata([string] $Module, [scriptblock] $Definition) {
            New-Module -Name $Module -ScriptBlock $Definition | Import-Module -Force
            try { Get-KcCommandMetadata -Module $Module }
            finally { Remove-Module $Module }
        }
        $Complete = Get-FixtureMetadata KcFixtureComplete {
            function Get-KcFixture { [CmdletBinding()] param([Parameter(Mandatory, Position = 0)] [string] $Name, [int] $Count = 1) }
        }
        $Grown = Get-FixtureMetadata KcFixtureGrown {
            function Get-KcFixture { [CmdletBinding()] param([Parameter(Mandatory, Position = 0)] [string] $Name, [int] $Count = 1, [switch] $Shout) }
        }
        $Shrunk = Get-FixtureMetadata KcFixtureShrunk {
            function Get-KcFixture { [CmdletBinding()] param([Parameter(Mandatory, Position = 0)] [string] $Name) }
        }
    }

    It 'compiles a complete page into MAML with the metadata of the command' {
        [xml] $xml = ConvertTo-KcMamlHelp -Path $Page -Command $Complete
        $ns = [System.Xml.XmlNamespaceManager]::new($xml.NameTable)
        $ns.AddNamespace('command', 'http://schemas.microsoft.com/maml/dev/command/2004/10')
        $ns.AddNamespace('maml', 'http://schemas.microsoft.com/maml/2004/10')
        $name = $xml.SelectSingleNode('//command:parameters/command:parameter[maml:name="Name"]', $ns)
        $name.required | Should -Be 'true'
        $name.position | Should -Be '0'
        $xml.SelectNodes('//command:example', $ns).Count | Should -Be 2
    }

    It 'fails, naming the parameter, when the page has no section for one' {
        { ConvertTo-KcMamlHelp -Path $Page -Command $Grown } | Should -Throw '*parameter -Shout of Get-KcFixture has no*section*'
    }

    It 'fails, naming the parameter, when the page documents one the command no longer has' {
        { ConvertTo-KcMamlHelp -Path $Page -Command $Shrunk } | Should -Throw '*documents parameter -Count*'
    }

    It 'fails when a command has no page at all' {
        $other = $Complete | ConvertTo-Json -Depth 8 | ConvertFrom-Json
        $other.Name = 'Get-KcOther'
        { ConvertTo-KcMamlHelp -Path $Page -Command @($Complete, $other) } | Should -Throw '*Get-KcOther has no help page*'
    }
}
