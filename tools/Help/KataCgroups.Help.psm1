<#
The help compiler behind `build.ps1 Help`. platyPS is not available, so this small module does its job for
KataCgroups: it turns the platyPS-layout markdown of docs/help into the files Get-Help reads for a binary
module (en-US/<cmdlet assembly>-Help.xml in MAML, and about_*.help.txt).

The split is the one platyPS makes: prose (synopsis, description, parameter text, examples, inputs, outputs,
notes, links) comes from the pages; everything the code knows (syntax, types, mandatory, position, pipeline
input, parameter sets, aliases, accepted values) comes from Get-Command on the built module, so the help
cannot drift from the cmdlets. A cmdlet, parameter or declared output type without its section in the page,
or a section for a parameter that no longer exists, is an error that names it: the build fails instead of
shipping help that lies.

Get-KcCommandMetadata runs where the built module is imported (build.ps1 runs it in a child pwsh and hands
the JSON over); everything else works on that data and the markdown text.
#>
Set-StrictMode -Version Latest

$script:NsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$script:NsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$script:NsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$script:NsMsHelp = 'http://msdn.microsoft.com/mshelp'
# Get-Help renders code and tables as written and wraps paragraphs itself; about_*.help.txt is plain text
# read in an 80-column console, so it is wrapped here.
$script:AboutWidth = 80

#region Command metadata (Get-Command)

function Get-KcCommandMetadata {
    <#
    .SYNOPSIS
        What Get-Command knows about each command of a module, as plain data (it survives ConvertTo-Json).
    .DESCRIPTION
        Per command: name, verb, noun, declared output types, one entry per parameter set (its syntax line as
        Get-Command prints it and each parameter's mandatory/position/pipeline input in that set), and one
        entry per parameter (type, aliases, accepted values, wildcards, sets, default). Common parameters are
        left out; -WhatIf and -Confirm are kept, since PowerShell's own help documents them per cmdlet.
        The default of an enum or switch parameter is read from a fresh instance of the cmdlet class, the
        only place the code states it.
    .PARAMETER Module
        Name of the imported module.
    .PARAMETER CommandName
        Only these commands (default: every exported command).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string] $Module,
        [string[]] $CommandName
    )
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters
    $commands = Get-Command -Module $Module -CommandType Cmdlet, Function |
        Where-Object { -not $CommandName -or $_.Name -in $CommandName } | Sort-Object Name
    foreach ($c in $commands) {
        $instance = $null
        if ($c -is [System.Management.Automation.CmdletInfo]) {
            try { $instance = [Activator]::CreateInstance($c.ImplementingType) } catch { $instance = $null }
        }
        $sets = @(foreach ($s in $c.ParameterSets) {
                [pscustomobject]@{
                    Name       = $s.Name
                    IsDefault  = $s.IsDefault
                    Syntax     = "$($c.Name) $s"
                    Parameters = @(foreach ($p in $s.Parameters | Where-Object Name -NotIn $common) {
                            [pscustomobject]@{
                                Name           = $p.Name
                                Mandatory      = $p.IsMandatory
                                Position       = if ($p.Position -ge 0) { "$($p.Position)" } else { 'Named' }
                                ByValue        = $p.ValueFromPipeline
                                ByPropertyName = $p.ValueFromPipelineByPropertyName
                            }
                        })
                }
            })
        $parameters = @(foreach ($p in $c.Parameters.Values | Where-Object Name -NotIn $common) {
                $type = $p.ParameterType
                $element = if ($type.IsArray) { $type.GetElementType() } else { $type }
                $accepted = @(if ($element.IsEnum) { [Enum]::GetNames($element) })
                $accepted += @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } |
                        ForEach-Object ValidValues)
                $default = $null
                if ($type -eq [System.Management.Automation.SwitchParameter]) { $default = 'False' }
                elseif ($element.IsEnum -and $instance) { $default = "$($instance.($p.Name))" }
                [pscustomobject]@{
                    Name           = $p.Name
                    Type           = $type.Name
                    TypeFullName   = $type.FullName
                    IsSwitch       = $type -eq [System.Management.Automation.SwitchParameter]
                    Aliases        = @($p.Aliases)
                    AcceptedValues = $accepted
                    Globbing       = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
                    Sets           = @($p.ParameterSets.Keys)
                    Default        = $default
                }
            })
        [pscustomobject]@{
            Name        = $c.Name
            Verb        = $c.Verb
            Noun        = $c.Noun
            OutputTypes = @($c.OutputType | ForEach-Object { if ($_.Type) { $_.Type.FullName } else { $_.Name } })
            SetCount    = $sets.Count
            Sets        = $sets
            Parameters  = $parameters
        }
    }
}

#endregion

#region Markdown

function Split-KcSection {
    # Splits lines at headings of one level ("## X"), ignoring '#' lines inside code fences (a PowerShell
    # comment is not a heading). Returns the lines before the first heading as Heading = $null.
    param([string[]] $Lines, [int] $Level)
    $marker = ('#' * $Level) + ' '
    $current = [pscustomobject]@{ Heading = $null; Lines = [System.Collections.Generic.List[string]]::new() }
    $fenced = $false
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') { $fenced = -not $fenced }
        if (-not $fenced -and $line.StartsWith($marker)) {
            $current
            $current = [pscustomobject]@{ Heading = $line.Substring($marker.Length).Trim(); Lines = [System.Collections.Generic.List[string]]::new() }
            continue
        }
        $current.Lines.Add($line)
    }
    $current
}

function Get-KcFence {
    # The first fenced block of $Lines: its body and the lines before and after it.
    param([string[]] $Lines)
    $start = -1
    for ($i = 0; $i -lt $Lines.Count; $i++) {
        if ($Lines[$i] -match '^\s*```') {
            if ($start -lt 0) { $start = $i; continue }
            return [pscustomobject]@{
                Before = @($Lines[0..($start)] | Select-Object -SkipLast 1)
                Body   = @(if ($i -gt $start + 1) { $Lines[($start + 1)..($i - 1)] })
                After  = @(if ($i + 1 -lt $Lines.Count) { $Lines[($i + 1)..($Lines.Count - 1)] })
            }
        }
    }
    $null
}

function Get-KcText {
    # Trimmed text of $Lines with leading and trailing blank lines dropped (empty array when none).
    param([string[]] $Lines)
    $l = @($Lines)
    $first = 0; $last = $l.Count - 1
    while ($first -le $last -and -not $l[$first].Trim()) { $first++ }
    while ($last -ge $first -and -not $l[$last].Trim()) { $last-- }
    @(if ($first -le $last) { $l[$first..$last] })
}

function Read-KcHelpPage {
    <#
    .SYNOPSIS
        Reads one cmdlet page (platyPS layout) into its parts.
    .PARAMETER Path
        The markdown file.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline, ValueFromPipelineByPropertyName)] [Alias('FullName')] [string] $Path)
    process {
        $lines = [System.IO.File]::ReadAllLines($Path)
        $offset = 0
        if ($lines.Count -and $lines[0] -eq '---') {
            $offset = [array]::IndexOf($lines, '---', 1) + 1
        }
        $body = @($lines | Select-Object -Skip $offset)
        $h1 = @(Split-KcSection $body 1)
        $title = @($h1 | Where-Object Heading)
        if ($title.Count -ne 1) { throw "${Path}: expected one '# <Cmdlet>' title, found $($title.Count)" }
        $sections = @{}
        foreach ($s in Split-KcSection $title[0].Lines 2) { if ($s.Heading) { $sections[$s.Heading.ToUpperInvariant()] = @($s.Lines) } }
        $section = { param($n) if ($sections.ContainsKey($n)) { , $sections[$n] } else { , @() } }

        $examples = @(Split-KcSection (& $section 'EXAMPLES') 3)
        $parameters = [ordered]@{}
        foreach ($p in Split-KcSection (& $section 'PARAMETERS') 3) {
            if (-not $p.Heading -or $p.Heading -eq 'CommonParameters') { continue }
            $fence = Get-KcFence $p.Lines
            $yaml = @{}
            if ($fence) {
                foreach ($y in $fence.Body) { if ($y -match '^([^:]+):\s*(.*)$') { $yaml[$Matches[1].Trim()] = $Matches[2].Trim() } }
            }
            $parameters[$p.Heading.TrimStart('-')] = [pscustomobject]@{
                Name        = $p.Heading.TrimStart('-')
                Description = Get-KcText $(if ($fence) { $fence.Before } else { $p.Lines })
                Default     = $yaml['Default value']
            }
        }
        $typed = {
            param($name)
            @(foreach ($t in Split-KcSection (& $section $name) 3) {
                    if ($t.Heading) { [pscustomobject]@{ Type = $t.Heading; Description = Get-KcText $t.Lines } }
                })
        }
        [pscustomobject]@{
            Name          = $title[0].Heading
            Path          = $Path
            Synopsis      = (Get-KcText (& $section 'SYNOPSIS')) -join ' '
            Description   = Get-KcText (& $section 'DESCRIPTION')
            ExamplesIntro = Get-KcText ($examples | Where-Object { -not $_.Heading } | ForEach-Object Lines)
            Examples      = @(foreach ($e in $examples | Where-Object Heading) {
                    $fence = Get-KcFence $e.Lines
                    [pscustomobject]@{
                        Title   = $e.Heading
                        Code    = if ($fence) { $fence.Body -join "`n" } else { '' }
                        Remarks = Get-KcText $(if ($fence) { $fence.After } else { $e.Lines })
                    }
                })
            Parameters    = $parameters
            Inputs        = & $typed 'INPUTS'
            Outputs       = & $typed 'OUTPUTS'
            Notes         = Get-KcText (& $section 'NOTES')
            Links         = @(foreach ($l in & $section 'RELATED LINKS') {
                    if ($l -match '\[([^\]]+)\]\(([^)]*)\)') { [pscustomobject]@{ Text = $Matches[1]; Uri = $Matches[2] } }
                })
        }
    }
}

function ConvertFrom-KcInline {
    # Markdown inline markup Get-Help would print literally: bold markers, links (their text stays), escaped
    # pipes. Backticks stay: they mark code in plain text as well, as in PowerShell's own help.
    param([string] $Text)
    $t = $Text -replace '\*\*([^*]+)\*\*', '$1'
    $t = $t -replace '\[([^\]]+)\]\(([^)]*)\)', '$1'
    $t -replace '\\\|', '|'
}

function ConvertTo-KcBlock {
    <#
    Markdown body lines → blocks: Para (text), Item (marker + text), Code (lines), Table (rows of cells),
    Heading (level + text). Level is the nesting depth from the indentation (list bodies, nested lists).
    #>
    param([string[]] $Lines)
    $l = @($Lines)
    $i = 0
    $isStart = { param($s) $s -match '^\s*(```|\||([-*]|\d+\.)\s|#{1,6}\s)' }
    while ($i -lt $l.Count) {
        $line = $l[$i]
        $indent = $line.Length - $line.TrimStart().Length
        $level = [int][math]::Ceiling($indent / 4)
        if (-not $line.Trim()) { $i++; continue }
        if ($line -match '^\s*```') {
            $code = [System.Collections.Generic.List[string]]::new()
            $i++
            while ($i -lt $l.Count -and $l[$i] -notmatch '^\s*```') {
                # Drop the fence's own indentation (a code block inside a list item), keep the code's.
                $code.Add($l[$i].Substring([math]::Min($indent, $l[$i].Length - $l[$i].TrimStart().Length)))
                $i++
            }
            $i++
            [pscustomobject]@{ Kind = 'Code'; Level = $level; Lines = @($code) }
            continue
        }
        if ($line -match '^(#{1,6})\s+(.*)$') {
            [pscustomobject]@{ Kind = 'Heading'; Level = $Matches[1].Length; Text = ConvertFrom-KcInline $Matches[2] }
            $i++
            continue
        }
        if ($line -match '^\s*\|') {
            $rows = [System.Collections.Generic.List[object]]::new()
            while ($i -lt $l.Count -and $l[$i] -match '^\s*\|') {
                # Split on pipes that are not escaped (\|).
                $cells = @([regex]::Split($l[$i].Trim().Trim('|'), '(?<!\\)\|') | ForEach-Object { ConvertFrom-KcInline $_.Trim() })
                if (-not ($cells | Where-Object { $_ -notmatch '^:?-+:?$' })) { $i++; continue }   # the |---| row
                $rows.Add($cells)
                $i++
            }
            [pscustomobject]@{ Kind = 'Table'; Level = $level; Rows = @($rows) }
            continue
        }
        $marker = $null
        $text = $line.Trim()
        if ($line -match '^\s*([-*]|\d+\.)\s+(.*)$') { $marker = $Matches[1] -replace '^\*$', '-'; $text = $Matches[2] }
        $i++
        while ($i -lt $l.Count -and $l[$i].Trim() -and -not (& $isStart $l[$i])) {
            $text += ' ' + $l[$i].Trim()
            $i++
        }
        if ($marker) { [pscustomobject]@{ Kind = 'Item'; Level = $level; Marker = $marker; Text = ConvertFrom-KcInline $text } }
        else { [pscustomobject]@{ Kind = 'Para'; Level = $level; Text = ConvertFrom-KcInline $text } }
    }
}

function Format-KcWrapped {
    # Word-wraps $Text to $Width columns: the first line indented by $Indent, the rest by $Hanging. A word
    # longer than a line stays whole (a path must not be cut).
    param([string] $Text, [int] $Width, [int] $Indent, [int] $Hanging = $Indent)
    $lines = [System.Collections.Generic.List[string]]::new()
    $current = ' ' * $Indent
    $empty = $true
    foreach ($word in $Text -split '\s+' | Where-Object { $_ }) {
        if (-not $empty -and $current.Length + 1 + $word.Length -gt $Width) {
            $lines.Add($current)
            $current = (' ' * $Hanging) + $word
        }
        else { $current += $(if ($empty) { $word } else { " $word" }) }
        $empty = $false
    }
    $lines.Add($current)
    $lines
}

function Format-KcTable {
    # A table as text: aligned columns when they fit in $Width, else one record per row (first cell, then
    # "Header: value" lines), so nothing runs past the edge.
    param([object[]] $Rows, [int] $Width, [int] $Indent)
    $header = @($Rows[0])
    $widths = @(for ($c = 0; $c -lt $header.Count; $c++) { ($Rows | ForEach-Object { "$(@($_)[$c])".Length } | Measure-Object -Maximum).Maximum })
    $total = $Indent + ($widths | Measure-Object -Sum).Sum + 2 * ($header.Count - 1)
    if ($total -le $Width) {
        $fmt = {
            param($cells)
            $padded = for ($c = 0; $c -lt $header.Count; $c++) { "$(@($cells)[$c])".PadRight($widths[$c]) }
            (' ' * $Indent) + ($padded -join '  ').TrimEnd()
        }
        & $fmt $header
        & $fmt @($widths | ForEach-Object { '-' * $_ })
        foreach ($r in $Rows | Select-Object -Skip 1) { & $fmt $r }
        return
    }
    foreach ($r in $Rows | Select-Object -Skip 1) {
        $cells = @($r)
        Format-KcWrapped $cells[0] $Width $Indent ($Indent + 4)
        for ($c = 1; $c -lt $header.Count; $c++) {
            if ("$($cells[$c])") { Format-KcWrapped "$($header[$c]): $($cells[$c])" $Width ($Indent + 4) ($Indent + 8) }
        }
    }
}

function Format-KcBlock {
    # Blocks → text lines at $Indent. $Width 0 leaves paragraphs and items unwrapped (Get-Help wraps them).
    param([object[]] $Blocks, [int] $Width, [int] $Indent, [string] $Source)
    foreach ($b in $Blocks) {
        $at = $Indent + 4 * $b.Level
        switch ($b.Kind) {
            'Para' {
                if ($Width) { Format-KcWrapped $b.Text $Width $at } else { (' ' * $at) + $b.Text }
            }
            'Item' {
                $lead = "$($b.Marker) "
                if ($Width) { Format-KcWrapped ($lead + $b.Text) $Width $at ($at + $lead.Length) } else { (' ' * $at) + $lead + $b.Text }
            }
            'Code' {
                foreach ($c in $b.Lines) {
                    $line = (' ' * ($at + 4)) + $c
                    # Code cannot be re-wrapped without changing it: the source must fit.
                    if ($Width -and $line.TrimEnd().Length -gt $Width) {
                        throw "${Source}: code line is $($line.TrimEnd().Length) columns once indented, more than $Width`: '$c'"
                    }
                    $line.TrimEnd()
                }
            }
            'Table' { Format-KcTable $b.Rows $(if ($Width) { $Width } else { $script:AboutWidth }) $at }
            'Heading' { (' ' * 2) + $b.Text }
        }
        if ($b.Kind -ne 'Heading') { '' }
    }
}

#endregion

#region Checks and syntax

function Test-KcHelpPage {
    <#
    .SYNOPSIS
        Every problem that would make the compiled help incomplete or wrong, as messages (none: the page is fine).
    .PARAMETER Page
        From Read-KcHelpPage.
    .PARAMETER Command
        From Get-KcCommandMetadata, for the same cmdlet.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] $Page, [Parameter(Mandatory)] $Command)
    $file = Split-Path -Leaf $Page.Path
    if (-not $Page.Synopsis) { "${file}: ## SYNOPSIS is empty" }
    if (-not $Page.Description) { "${file}: ## DESCRIPTION is empty" }
    foreach ($p in $Command.Parameters) {
        if (-not $Page.Parameters.Contains($p.Name)) { "${file}: parameter -$($p.Name) of $($Command.Name) has no '### -$($p.Name)' section under ## PARAMETERS" }
        elseif (-not $Page.Parameters[$p.Name].Description) { "${file}: the section of parameter -$($p.Name) has no description" }
    }
    foreach ($name in $Page.Parameters.Keys) {
        if ($name -notin $Command.Parameters.Name) { "${file}: documents parameter -$name, which $($Command.Name) does not have (any more)" }
    }
    if ($Page.Examples.Count -lt 2) { "${file}: has $($Page.Examples.Count) example(s) under ## EXAMPLES; at least 2 are needed" }
    foreach ($e in $Page.Examples) {
        if (-not $e.Code) { "${file}: example '$($e.Title)' has no code block" }
        if (-not $e.Remarks) { "${file}: example '$($e.Title)' has no remarks after its code block" }
    }
    if (-not $Page.Inputs) { "${file}: ## INPUTS has no '### <type>' section" }
    if (-not $Page.Outputs) { "${file}: ## OUTPUTS has no '### <type>' section" }
    foreach ($t in $Command.OutputTypes) {
        $shown = if ($t -eq 'System.Void') { 'None' } else { $t }
        if ($shown -notin $Page.Outputs.Type) { "${file}: $($Command.Name) declares [OutputType($t)], but ## OUTPUTS has no '### $shown' section" }
    }
    if (-not $Page.Notes) { "${file}: ## NOTES is empty" }
}

function Format-KcPipelineInput {
    param($Parameter)
    $how = @(if ($Parameter.ByValue) { 'ByValue' }; if ($Parameter.ByPropertyName) { 'ByPropertyName' })
    if ($how) { "True ($($how -join ', '))" } else { 'False' }
}

function Get-KcParameterSummary {
    # One parameter across its sets, as the PARAMETERS section shows it: required when mandatory in any set
    # (Get-Help has one value per parameter), position and pipeline input from the sets that have it.
    param($Command, $Parameter)
    $inSets = @($Command.Sets | ForEach-Object { $_.Parameters | Where-Object Name -EQ $Parameter.Name })
    [pscustomobject]@{
        Mandatory      = [bool]($inSets | Where-Object Mandatory)
        Position       = @($inSets.Position | Select-Object -Unique)[0]
        ByValue        = [bool]($inSets | Where-Object ByValue)
        ByPropertyName = [bool]($inSets | Where-Object ByPropertyName)
        Sets           = if ($Parameter.Sets -contains '__AllParameterSets' -or $Parameter.Sets.Count -eq $Command.SetCount) { '(All)' } else { $Parameter.Sets -join ', ' }
    }
}

function Get-KcDefault {
    # The code's default (switch, enum) wins; otherwise the page's own "Default value" prose ("/vc only").
    param($Parameter, $PageParameter)
    if ($null -ne $Parameter.Default) { return $Parameter.Default }
    if ($PageParameter -and $PageParameter.Default) { return $PageParameter.Default }
    'None'
}

function Update-KcHelpPageSyntax {
    <#
    .SYNOPSIS
        Rewrites a page's SYNTAX blocks and each parameter's yaml block from Get-Command's metadata.
    .DESCRIPTION
        Keeps the platyPS layout (### <SetName> + fenced block; "(Default)" after the default set of a
        cmdlet with several) and leaves every other line alone. Writes the file only when it changes, and
        returns $true then.
    .PARAMETER Check
        Only report whether the page is out of date ($true); write nothing.
    .PARAMETER Path
        The page.
    .PARAMETER Command
        From Get-KcCommandMetadata.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] $Command, [switch] $Check)
    $page = Read-KcHelpPage -Path $Path
    $old = [System.IO.File]::ReadAllText($Path)
    $lines = [System.Collections.Generic.List[string]]::new([string[]]($old -split "`n"))

    $syntax = @(foreach ($s in $Command.Sets) {
            $name = if ($Command.SetCount -gt 1 -and $s.IsDefault) { "$($s.Name) (Default)" } else { $s.Name }
            "### $name", '```', $s.Syntax, '```', ''
        })
    $start = $lines.IndexOf('## SYNTAX')
    if ($start -lt 0) { throw "${Path}: no '## SYNTAX' section to regenerate" }
    $end = $start + 1
    while ($end -lt $lines.Count -and -not $lines[$end].StartsWith('## ')) { $end++ }
    $lines.RemoveRange($start + 1, $end - $start - 1)
    $lines.InsertRange($start + 1, [string[]](@('') + $syntax))

    foreach ($p in $Command.Parameters) {
        $at = $lines.IndexOf("### -$($p.Name)")
        if ($at -lt 0) { continue }   # a missing section is Test-KcHelpPage's finding, not this function's
        $summary = Get-KcParameterSummary $Command $p
        $yaml = @(
            '```yaml'
            "Type: $($p.Type)"
            "Parameter Sets: $($summary.Sets)"
            "Aliases: $($p.Aliases -join ', ')".TrimEnd()
            if ($p.AcceptedValues) { "Accepted values: $($p.AcceptedValues -join ', ')" }
            ''
            "Required: $($summary.Mandatory)"
            "Position: $($summary.Position)"
            "Default value: $(Get-KcDefault $p $page.Parameters[$p.Name])"
            "Accept pipeline input: $(Format-KcPipelineInput $summary)"
            "Accept wildcard characters: $($p.Globbing)"
            '```'
        )
        $next = $at + 1
        while ($next -lt $lines.Count -and -not $lines[$next].StartsWith('#')) { $next++ }
        $open = -1
        for ($i = $at + 1; $i -lt $next; $i++) { if ($lines[$i] -eq '```yaml') { $open = $i; break } }
        if ($open -ge 0) {
            $close = $lines.IndexOf('```', $open + 1)
            $lines.RemoveRange($open, $close - $open + 1)
            $lines.InsertRange($open, [string[]]$yaml)
        }
        else {
            $insert = $next
            while ($insert -gt $at + 1 -and -not $lines[$insert - 1].Trim()) { $insert-- }
            $lines.InsertRange($insert, [string[]](@('') + $yaml))
        }
    }
    $new = $lines -join "`n"
    if ($new -ceq $old) { return $false }
    if ($Check) { return $true }
    [System.IO.File]::WriteAllText($Path, $new, [System.Text.UTF8Encoding]::new($false))
    $true
}

#endregion

#region MAML

function Write-KcParas {
    param([System.Xml.XmlWriter] $W, [string[]] $Lines, [string] $Source)
    $blocks = @(ConvertTo-KcBlock $Lines)
    foreach ($b in $blocks) {
        # One maml:para per block; code and tables keep their line breaks (Get-Help prints them as is).
        $text = (@(Format-KcBlock @($b) 0 0 $Source) | Select-Object -SkipLast 1) -join "`n"
        $W.WriteElementString('maml', 'para', $script:NsMaml, $text)
    }
}

function Write-KcDescription {
    param([System.Xml.XmlWriter] $W, [string] $Prefix, [string] $Ns, [string[]] $Lines, [string] $Source)
    $W.WriteStartElement($Prefix, 'description', $Ns)
    Write-KcParas $W $Lines $Source
    $W.WriteEndElement()
}

function Write-KcParameter {
    param([System.Xml.XmlWriter] $W, $Parameter, $InSet, [string[]] $Description, [string] $Default, [switch] $InSyntax)
    $W.WriteStartElement('command', 'parameter', $script:NsCommand)
    $W.WriteAttributeString('required', "$([bool]$InSet.Mandatory)".ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', "$($Parameter.Globbing)".ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', (Format-KcPipelineInput $InSet))
    $W.WriteAttributeString('position', $(if ($InSet.Position -eq 'Named') { 'named' } else { $InSet.Position }))
    $W.WriteAttributeString('aliases', $(if ($Parameter.Aliases) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('maml', 'name', $script:NsMaml, $Parameter.Name)
    Write-KcDescription $W 'maml' $script:NsMaml $Description
    if ($Parameter.AcceptedValues) {
        $W.WriteStartElement('command', 'parameterValueGroup', $script:NsCommand)
        foreach ($v in $Parameter.AcceptedValues) {
            $W.WriteStartElement('command', 'parameterValue', $script:NsCommand)
            $W.WriteAttributeString('required', 'false')
            $W.WriteAttributeString('command', 'variableLength', $script:NsCommand, 'false')
            $W.WriteString($v)
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    # A switch takes no value: in the syntax it is just [-Name], as in PowerShell's own help.
    if (-not ($InSyntax -and $Parameter.IsSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $script:NsCommand)
        $W.WriteAttributeString('required', $(if ($Parameter.IsSwitch) { 'false' } else { 'true' }))
        $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($Parameter.Type)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $script:NsDev)
    $W.WriteElementString('maml', 'name', $script:NsMaml, $Parameter.TypeFullName)
    $W.WriteElementString('maml', 'uri', $script:NsMaml, '')
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $script:NsDev, $Default)
    $W.WriteEndElement()
}

function Write-KcTypeList {
    param([System.Xml.XmlWriter] $W, [string] $List, [string] $Item, [object[]] $Types, [string] $Source)
    $W.WriteStartElement('command', $List, $script:NsCommand)
    foreach ($t in $Types) {
        $W.WriteStartElement('command', $Item, $script:NsCommand)
        $W.WriteStartElement('dev', 'type', $script:NsDev)
        $W.WriteElementString('maml', 'name', $script:NsMaml, $t.Type)
        $W.WriteEndElement()
        Write-KcDescription $W 'maml' $script:NsMaml $t.Description $Source
        $W.WriteEndElement()
    }
    $W.WriteEndElement()
}

function Write-KcCommandHelp {
    param([System.Xml.XmlWriter] $W, $Page, $Command)
    $src = $Page.Path
    $W.WriteStartElement('command', 'command', $script:NsCommand)
    $W.WriteAttributeString('xmlns', 'maml', $null, $script:NsMaml)
    $W.WriteAttributeString('xmlns', 'command', $null, $script:NsCommand)
    $W.WriteAttributeString('xmlns', 'dev', $null, $script:NsDev)
    $W.WriteAttributeString('xmlns', 'MSHelp', $null, $script:NsMsHelp)

    $W.WriteStartElement('command', 'details', $script:NsCommand)
    $W.WriteElementString('command', 'name', $script:NsCommand, $Command.Name)
    $W.WriteElementString('command', 'verb', $script:NsCommand, $Command.Verb)
    $W.WriteElementString('command', 'noun', $script:NsCommand, $Command.Noun)
    Write-KcDescription $W 'maml' $script:NsMaml @($Page.Synopsis) $src
    $W.WriteEndElement()

    Write-KcDescription $W 'maml' $script:NsMaml $Page.Description $src

    $W.WriteStartElement('command', 'syntax', $script:NsCommand)
    foreach ($s in $Command.Sets) {
        $W.WriteStartElement('command', 'syntaxItem', $script:NsCommand)
        $W.WriteElementString('maml', 'name', $script:NsMaml, $Command.Name)
        foreach ($sp in $s.Parameters) {
            $p = $Command.Parameters | Where-Object Name -EQ $sp.Name
            Write-KcParameter $W $p $sp $Page.Parameters[$p.Name].Description (Get-KcDefault $p $Page.Parameters[$p.Name]) -InSyntax
        }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    # Page order: the pages put the parameters in the order a reader needs them.
    $W.WriteStartElement('command', 'parameters', $script:NsCommand)
    foreach ($name in $Page.Parameters.Keys) {
        $p = $Command.Parameters | Where-Object Name -EQ $name
        Write-KcParameter $W $p (Get-KcParameterSummary $Command $p) $Page.Parameters[$name].Description (Get-KcDefault $p $Page.Parameters[$name])
    }
    $W.WriteEndElement()

    Write-KcTypeList $W 'inputTypes' 'inputType' $Page.Inputs $src
    Write-KcTypeList $W 'returnValues' 'returnValue' $Page.Outputs $src

    $W.WriteStartElement('maml', 'alertSet', $script:NsMaml)
    $W.WriteStartElement('maml', 'alert', $script:NsMaml)
    Write-KcParas $W $Page.Notes $src
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $script:NsCommand)
    $n = 0
    foreach ($e in $Page.Examples) {
        $n++
        $W.WriteStartElement('command', 'example', $script:NsCommand)
        $W.WriteElementString('maml', 'title', $script:NsMaml, "-------------------------- $($e.Title) --------------------------")
        $W.WriteElementString('dev', 'code', $script:NsDev, $e.Code)
        $W.WriteStartElement('dev', 'remarks', $script:NsDev)
        # The EXAMPLES preamble (where the examples were recorded) has no MAML slot: it closes Example 1.
        Write-KcParas $W @($e.Remarks; if ($n -eq 1 -and $Page.ExamplesIntro) { ''; $Page.ExamplesIntro }) $src
        # Get-Help prints the next title right under the last remark; an empty para keeps them apart.
        $W.WriteElementString('maml', 'para', $script:NsMaml, '')
        $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $script:NsCommand)
    foreach ($l in $Page.Links) {
        $W.WriteStartElement('maml', 'navigationLink', $script:NsMaml)
        $W.WriteElementString('maml', 'linkText', $script:NsMaml, $l.Text)
        # Sibling pages (*.md) are found by name with Get-Help; only web addresses are URIs.
        $W.WriteElementString('maml', 'uri', $script:NsMaml, $(if ($l.Uri -match '^https?://') { $l.Uri } else { '' }))
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()
}

function ConvertTo-KcMamlHelp {
    <#
    .SYNOPSIS
        Compiles cmdlet pages and Get-Command metadata into one MAML help document (returned as text).
    .DESCRIPTION
        Checks first: every command needs a page, and every page a command; every problem Test-KcHelpPage
        finds is collected, and all of them end the call in one error, so one build run lists everything to fix.
    .PARAMETER Path
        The cmdlet pages (files named <Cmdlet>.md; about_* pages are skipped).
    .PARAMETER Command
        From Get-KcCommandMetadata.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [string[]] $Path, [Parameter(Mandatory)] [object[]] $Command)
    $pages = @($Path | Where-Object { (Split-Path -Leaf $_) -notlike 'about_*' } | Read-KcHelpPage)
    $problems = [System.Collections.Generic.List[string]]::new()
    foreach ($c in $Command) {
        $page = @($pages | Where-Object Name -EQ $c.Name)
        if (-not $page) { $problems.Add("$($c.Name) has no help page ($($c.Name).md)"); continue }
        foreach ($p in Test-KcHelpPage -Page $page[0] -Command $c) { $problems.Add($p) }
    }
    foreach ($page in $pages | Where-Object Name -NotIn $Command.Name) {
        $problems.Add("$(Split-Path -Leaf $page.Path): documents $($page.Name), which is not a command of the module")
    }
    if ($problems.Count) {
        throw "the help is incomplete ($($problems.Count) problem(s)):`n  - $($problems -join "`n  - ")"
    }

    $settings = [System.Xml.XmlWriterSettings]::new()
    $settings.Indent = $true
    $settings.Encoding = [System.Text.UTF8Encoding]::new($false)
    $sb = [System.Text.StringBuilder]::new()
    $w = [System.Xml.XmlWriter]::Create([System.IO.StringWriter]::new($sb), $settings)
    $w.WriteStartDocument()
    $w.WriteStartElement('helpItems', 'http://msh')
    $w.WriteAttributeString('schema', 'maml')
    foreach ($c in $Command | Sort-Object Name) {
        Write-KcCommandHelp $w ($pages | Where-Object Name -EQ $c.Name) $c
    }
    $w.WriteEndElement()
    $w.WriteEndDocument()
    $w.Flush()
    # The StringWriter says utf-16; the file is UTF-8.
    $sb.ToString() -replace '^<\?xml version="1.0" encoding="utf-16"\?>', '<?xml version="1.0" encoding="utf-8"?>'
}

#endregion

#region About topics

function ConvertTo-KcAboutHelp {
    <#
    .SYNOPSIS
        Compiles an about_* markdown page into the plain-text help Get-Help reads (returned as text).
    .DESCRIPTION
        The conventional layout: TOPIC, SHORT DESCRIPTION, LONG DESCRIPTION and the page's other sections as
        upper-case headings at column 0, the text indented by 4 and wrapped at 80 columns, ### subheadings at
        column 2, code at 8 (code is never re-wrapped: a line that cannot fit is an error), tables as aligned
        columns, or as records when they are too wide.
    .PARAMETER Path
        The about_*.md page.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([Parameter(Mandatory)] [string] $Path)
    $lines = [System.IO.File]::ReadAllLines($Path)
    $top = @(Split-KcSection $lines 1 | Where-Object Heading)
    if ($top.Count -ne 1 -or $top[0].Heading -notlike 'about_*') { throw "${Path}: expected one '# about_<Topic>' title" }
    $sections = @(Split-KcSection $top[0].Lines 2 | Where-Object Heading)
    foreach ($required in 'SHORT DESCRIPTION', 'LONG DESCRIPTION') {
        if ($required -notin $sections.Heading) { throw "${Path}: no '## $required' section" }
    }
    $out = [System.Collections.Generic.List[string]]::new()
    $out.Add('TOPIC')
    $out.Add("    $($top[0].Heading)")
    $out.Add('')
    foreach ($s in $sections) {
        $out.Add($s.Heading.ToUpperInvariant())
        foreach ($l in Format-KcBlock @(ConvertTo-KcBlock $s.Lines) $script:AboutWidth 4 $Path) { $out.Add($l) }
    }
    while ($out.Count -and -not $out[$out.Count - 1]) { $out.RemoveAt($out.Count - 1) }
    ($out -join "`n") + "`n"
}

#endregion

Export-ModuleMember -Function Get-KcCommandMetadata, Read-KcHelpPage, Test-KcHelpPage, Update-KcHelpPageSyntax,
    ConvertTo-KcMamlHelp, ConvertTo-KcAboutHelp
